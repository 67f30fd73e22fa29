//! Secondary indexes (GSI and LSI) through Query and Scan. Ignored until indexes are built:
//! they document what a later issue must pass.

use aws_sdk_dynamodb::types::{
    BillingMode, GlobalSecondaryIndex, KeyType, LocalSecondaryIndex, Projection, ProjectionType,
    ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

#[tokio::test]
async fn t40_global_secondary_index() {
    let server = Server::start().await;
    let c = server.client();
    c.create_table()
        .table_name("gsi")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("team", ScalarAttributeType::S))
        .attribute_definitions(attr_def("score", ScalarAttributeType::N))
        .key_schema(key_elem("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_team")
                .key_schema(key_elem("team", KeyType::Hash))
                .key_schema(key_elem("score", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("team_keys")
                .key_schema(key_elem("team", KeyType::Hash))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_active(&c, "gsi").await;
    for (pk, team, score) in [
        ("a", "red", 30),
        ("b", "red", 10),
        ("c", "blue", 5),
        ("d", "red", 20),
    ] {
        c.put_item()
            .table_name("gsi")
            .item("pk", s(pk))
            .item("team", s(team))
            .item("score", ni(score))
            .item("extra", s("e"))
            .send()
            .await
            .unwrap();
    }
    // Sparse: no index key, not in the index.
    c.put_item()
        .table_name("gsi")
        .item("pk", s("e"))
        .item("extra", s("e"))
        .send()
        .await
        .unwrap();

    let red = |c: &Client| {
        c.query()
            .table_name("gsi")
            .index_name("by_team")
            .key_condition_expression("team = :t")
            .expression_attribute_values(":t", s("red"))
            .send()
    };
    let r = red(&c).await.unwrap();
    let pks: Vec<&str> = r.items().iter().map(|i| get_s(i, "pk").unwrap()).collect();
    assert_eq!(pks, ["b", "d", "a"], "ordered by score");
    assert_eq!(r.items()[0].get("extra"), Some(&s("e")), "ALL projection");

    let r = c
        .scan()
        .table_name("gsi")
        .index_name("by_team")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.count(),
        4,
        "the item without index keys is not in the index"
    );

    // KEYS_ONLY: table key plus index key only.
    let r = c
        .query()
        .table_name("gsi")
        .index_name("team_keys")
        .key_condition_expression("team = :t")
        .expression_attribute_values(":t", s("blue"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.items(), &[item(&[("pk", s("c")), ("team", s("blue"))])]);

    // Index maintenance on update and delete.
    c.update_item()
        .table_name("gsi")
        .key("pk", s("a"))
        .update_expression("SET team = :b")
        .expression_attribute_values(":b", s("blue"))
        .send()
        .await
        .unwrap();
    c.delete_item()
        .table_name("gsi")
        .key("pk", s("b"))
        .send()
        .await
        .unwrap();
    let r = red(&c).await.unwrap();
    let pks: Vec<&str> = r.items().iter().map(|i| get_s(i, "pk").unwrap()).collect();
    assert_eq!(pks, ["d"]);

    // Strongly consistent reads are not supported on a GSI; unknown indexes are rejected.
    let r = c
        .query()
        .table_name("gsi")
        .index_name("by_team")
        .key_condition_expression("team = :t")
        .expression_attribute_values(":t", s("red"))
        .consistent_read(true)
        .send()
        .await;
    expect_error(r, "ValidationException");
    let r = c
        .query()
        .table_name("gsi")
        .index_name("nosuch")
        .key_condition_expression("team = :t")
        .expression_attribute_values(":t", s("red"))
        .send()
        .await;
    expect_error(r, "ValidationException");

    // An index key attribute must have the declared type.
    let r = c
        .put_item()
        .table_name("gsi")
        .item("pk", s("x"))
        .item("team", ni(1))
        .send()
        .await;
    expect_error(r, "ValidationException");
}

#[tokio::test]
async fn t41_local_secondary_index() {
    let server = Server::start().await;
    let c = server.client();
    c.create_table()
        .table_name("lsi")
        .attribute_definitions(attr_def("pk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("sk", ScalarAttributeType::S))
        .attribute_definitions(attr_def("rank", ScalarAttributeType::N))
        .key_schema(key_elem("pk", KeyType::Hash))
        .key_schema(key_elem("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("by_rank")
                .key_schema(key_elem("pk", KeyType::Hash))
                .key_schema(key_elem("rank", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    wait_active(&c, "lsi").await;
    for (sk, rank) in [("a", 3), ("b", 1), ("c", 2)] {
        c.put_item()
            .table_name("lsi")
            .item("pk", s("p"))
            .item("sk", s(sk))
            .item("rank", ni(rank))
            .send()
            .await
            .unwrap();
    }
    c.put_item()
        .table_name("lsi")
        .item("pk", s("p"))
        .item("sk", s("norank"))
        .send()
        .await
        .unwrap();
    let r = c
        .query()
        .table_name("lsi")
        .index_name("by_rank")
        .key_condition_expression("pk = :p AND #r >= :lo")
        .expression_attribute_names("#r", "rank")
        .expression_attribute_values(":p", s("p"))
        .expression_attribute_values(":lo", ni(2))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = r.items().iter().map(|i| get_s(i, "sk").unwrap()).collect();
    assert_eq!(got, ["c", "a"]);

    // Paginating an index query: the LastEvaluatedKey holds table and index keys.
    let r = c
        .query()
        .table_name("lsi")
        .index_name("by_rank")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .limit(1)
        .send()
        .await
        .unwrap();
    let lek = r.last_evaluated_key().unwrap();
    assert_eq!(
        lek,
        &item(&[("pk", s("p")), ("sk", s("b")), ("rank", ni(1))])
    );
    let r = c
        .query()
        .table_name("lsi")
        .index_name("by_rank")
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .set_exclusive_start_key(Some(lek.clone()))
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = r.items().iter().map(|i| get_s(i, "sk").unwrap()).collect();
    assert_eq!(got, ["c", "a"]);
}
