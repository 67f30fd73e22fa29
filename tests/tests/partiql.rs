//! PartiQL: ExecuteStatement, BatchExecuteStatement and ExecuteTransaction through the SDK
//! against the real binary: each statement kind, parameters, index reads, pagination with
//! NextToken, the documented errors, per-statement batch errors and transaction cancellation.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::execute_statement::ExecuteStatementError;
use aws_sdk_dynamodb::operation::execute_transaction::ExecuteTransactionError;
use aws_sdk_dynamodb::types::{
    AttributeValue, BatchStatementErrorCodeEnum, BatchStatementRequest, BillingMode,
    GlobalSecondaryIndex, KeyType, ParameterizedStatement, Projection, ProjectionType,
    ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use meridian_tests::*;

type Item = HashMap<String, AttributeValue>;

async fn exec(c: &Client, statement: &str, params: Vec<AttributeValue>) -> Vec<Item> {
    c.execute_statement()
        .statement(statement)
        .set_parameters((!params.is_empty()).then_some(params))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e:?}"))
        .items
        .unwrap_or_default()
}

async fn music(c: &Client) {
    create_table(
        c,
        "Music",
        ("Artist", ScalarAttributeType::S),
        Some(("SongTitle", ScalarAttributeType::S)),
    )
    .await;
}

fn batch_stmt(statement: &str, params: Vec<AttributeValue>) -> BatchStatementRequest {
    BatchStatementRequest::builder()
        .statement(statement)
        .set_parameters((!params.is_empty()).then_some(params))
        .build()
        .unwrap()
}

fn tx_stmt(statement: &str, params: Vec<AttributeValue>) -> ParameterizedStatement {
    ParameterizedStatement::builder()
        .statement(statement)
        .set_parameters((!params.is_empty()).then_some(params))
        .build()
        .unwrap()
}

#[tokio::test]
async fn statements_insert_select_update_delete() {
    let server = Server::start().await;
    let c = server.client();
    music(&c).await;

    let out = exec(
        &c,
        "INSERT INTO \"Music\" VALUE {'Artist': 'Acme Band', 'SongTitle': 'PartiQL Rocks', 'Awards': 1, 'Tags': <<'rock', 'live'>>, 'Info': {'year': 2020, 'charts': [1, 2]}, 'Live': true, 'Nothing': null}",
        vec![],
    )
    .await;
    assert!(out.is_empty());
    exec(
        &c,
        "INSERT INTO Music VALUE {'Artist': ?, 'SongTitle': ?, 'Awards': ?}",
        vec![s("Acme Band"), s("Happy Day"), ni(8)],
    )
    .await;
    exec(
        &c,
        "INSERT INTO Music VALUE {'Artist': 'Other', 'SongTitle': 'Solo', 'Awards': 3}",
        vec![],
    )
    .await;

    // The stored item is what the literals say, checked through GetItem.
    let got = c
        .get_item()
        .table_name("Music")
        .key("Artist", s("Acme Band"))
        .key("SongTitle", s("PartiQL Rocks"))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(normalize(&got["Tags"]), normalize(&ss(&["live", "rock"])));
    assert_eq!(
        normalize(&got["Info"]),
        normalize(&m(&[("year", ni(2020)), ("charts", l(vec![ni(1), ni(2)]))]))
    );
    assert_eq!(got["Live"], AttributeValue::Bool(true));
    assert_eq!(got["Nothing"], AttributeValue::Null(true));

    // A key read, a partition read (Query) and a filtered scan.
    let one = exec(
        &c,
        "SELECT * FROM Music WHERE Artist = ? AND SongTitle = ?",
        vec![s("Acme Band"), s("Happy Day")],
    )
    .await;
    assert_eq!(one.len(), 1);
    assert_eq!(get_n(&one[0], "Awards"), Some("8"));
    let partition = exec(
        &c,
        "SELECT SongTitle, Awards FROM \"Music\" WHERE Artist = 'Acme Band'",
        vec![],
    )
    .await;
    let titles: Vec<&str> = partition
        .iter()
        .map(|i| get_s(i, "SongTitle").unwrap())
        .collect();
    assert_eq!(titles, ["Happy Day", "PartiQL Rocks"]);
    assert!(partition.iter().all(|i| !i.contains_key("Artist")));
    let desc = exec(
        &c,
        "SELECT SongTitle FROM Music WHERE Artist = 'Acme Band' ORDER BY SongTitle DESC",
        vec![],
    )
    .await;
    assert_eq!(get_s(&desc[0], "SongTitle"), Some("PartiQL Rocks"));
    let scanned = exec(&c, "SELECT * FROM Music WHERE Awards >= 3", vec![]).await;
    let mut scanned: Vec<&str> = scanned
        .iter()
        .map(|i| get_s(i, "SongTitle").unwrap())
        .collect();
    scanned.sort_unstable();
    assert_eq!(scanned, ["Happy Day", "Solo"]);
    let begins = exec(
        &c,
        "SELECT * FROM Music WHERE Artist = 'Acme Band' AND begins_with(SongTitle, 'Part')",
        vec![],
    )
    .await;
    assert_eq!(begins.len(), 1);
    let missing = exec(
        &c,
        "SELECT * FROM Music WHERE Artist = 'Acme Band' AND Live IS MISSING",
        vec![],
    )
    .await;
    assert_eq!(get_s(&missing[0], "SongTitle"), Some("Happy Day"));
    let nested = exec(
        &c,
        "SELECT Info.charts[1] FROM Music WHERE Artist = 'Acme Band' AND Info.\"year\" = 2020",
        vec![],
    )
    .await;
    assert_eq!(nested.len(), 1);
    assert_eq!(
        normalize(&nested[0]["Info"]),
        normalize(&m(&[("charts", l(vec![ni(2)]))]))
    );
    let all = exec(&c, "SELECT * FROM Music", vec![]).await;
    assert_eq!(all.len(), 3);

    // UPDATE: arithmetic, list_append, set_add, REMOVE, RETURNING.
    let returned = exec(
        &c,
        "UPDATE Music SET Awards = Awards + ?, Info.charts = list_append(Info.charts, [3]) SET Tags = set_add(Tags, <<'new'>>) REMOVE Nothing WHERE Artist = 'Acme Band' AND SongTitle = 'PartiQL Rocks' RETURNING ALL NEW *",
        vec![ni(10)],
    )
    .await;
    assert_eq!(returned.len(), 1);
    let after = &returned[0];
    assert_eq!(get_n(after, "Awards"), Some("11"));
    assert_eq!(
        normalize(&after["Info"]),
        normalize(&m(&[
            ("year", ni(2020)),
            ("charts", l(vec![ni(1), ni(2), ni(3)]))
        ]))
    );
    assert_eq!(
        normalize(&after["Tags"]),
        normalize(&ss(&["live", "new", "rock"]))
    );
    assert!(!after.contains_key("Nothing"));
    let plain = exec(
        &c,
        "UPDATE Music SET Awards = 0 WHERE Artist = 'Other' AND SongTitle = 'Solo'",
        vec![],
    )
    .await;
    assert!(plain.is_empty());
    // A condition beyond the key is part of the UPDATE's condition.
    let err = c
        .execute_statement()
        .statement("UPDATE Music SET Awards = 5 WHERE Artist = 'Other' AND SongTitle = 'Solo' AND Awards = 99")
        .send()
        .await;
    expect_error(err, "ConditionalCheckFailedException");

    // DELETE, with RETURNING ALL OLD *.
    let old = exec(
        &c,
        "DELETE FROM Music WHERE Artist = ? AND SongTitle = ? RETURNING ALL OLD *",
        vec![s("Other"), s("Solo")],
    )
    .await;
    assert_eq!(get_n(&old[0], "Awards"), Some("0"));
    let gone = exec(
        &c,
        "SELECT * FROM Music WHERE Artist = 'Other' AND SongTitle = 'Solo'",
        vec![],
    )
    .await;
    assert!(gone.is_empty());
    // Deleting a missing item is not an error, as in DynamoDB.
    exec(
        &c,
        "DELETE FROM Music WHERE Artist = 'Other' AND SongTitle = 'Solo'",
        vec![],
    )
    .await;
}

#[tokio::test]
async fn statement_errors() {
    let server = Server::start().await;
    let c = server.client();
    music(&c).await;
    exec(
        &c,
        "INSERT INTO Music VALUE {'Artist': 'a', 'SongTitle': 't', 'v': 1}",
        vec![],
    )
    .await;
    let run = |statement: &'static str, params: Vec<AttributeValue>| {
        c.execute_statement()
            .statement(statement)
            .set_parameters((!params.is_empty()).then_some(params))
            .send()
    };

    let message = expect_error(
        run("SELEC * FROM Music", vec![]).await,
        "ValidationException",
    );
    assert!(
        message.starts_with("Statement wasn't well formed, can't be processed: "),
        "{message}"
    );
    let message = expect_error(
        run(
            "INSERT INTO Music VALUE {'Artist': 'a', 'SongTitle': 't'}",
            vec![],
        )
        .await,
        "DuplicateItemException",
    );
    assert_eq!(message, "Duplicate primary key exists in table");
    let message = expect_error(
        run(
            "UPDATE Music SET v = 2 WHERE Artist = 'a' AND SongTitle = 'nope'",
            vec![],
        )
        .await,
        "ConditionalCheckFailedException",
    );
    assert_eq!(message, "The conditional request failed");
    let message = expect_error(
        run("SELECT * FROM Music WHERE Artist = ?", vec![]).await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "Number of parameters in request and statement don't match."
    );
    expect_error(
        run("SELECT * FROM Music WHERE Artist = ?", vec![s("a"), s("b")]).await,
        "ValidationException",
    );
    let message = expect_error(
        run("UPDATE Music SET v = 2 WHERE Artist = 'a'", vec![]).await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "Where clause does not contain a mandatory equality on all key attributes"
    );
    let message = expect_error(
        run(
            "DELETE FROM Music WHERE Artist = 'a' AND SongTitle = 't' AND SongTitle = 'u'",
            vec![],
        )
        .await,
        "ValidationException",
    );
    assert!(
        message.starts_with("Multiple conditions on same key SongTitle"),
        "{message}"
    );
    let message = expect_error(
        run("INSERT INTO Music VALUE {'Artist': 'x'}", vec![]).await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "Key attribute should be present in the item: Key SongTitle"
    );
    let message = expect_error(
        run(
            "INSERT INTO Music VALUE {'Artist': 1, 'SongTitle': 'x'}",
            vec![],
        )
        .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "Key attribute's data type should match its data type in table's schema: Key Artist"
    );
    expect_error(
        run("SELECT * FROM Nowhere", vec![]).await,
        "ResourceNotFoundException",
    );
    let message = expect_error(
        run(
            "EXISTS(SELECT * FROM Music WHERE Artist = 'a' AND SongTitle = 't' AND v = 1)",
            vec![],
        )
        .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "EXISTS can only be used in ExecuteTransaction write requests."
    );
    let message = expect_error(
        run(
            "UPDATE Music SET Artist = 'b' WHERE Artist = 'a' AND SongTitle = 't'",
            vec![],
        )
        .await,
        "ValidationException",
    );
    assert!(message.contains("part of the key"), "{message}");
    let message = expect_error(
        run("SELECT * FROM Music LIMIT 3", vec![]).await,
        "ValidationException",
    );
    assert_eq!(message, "Unsupported clause: LIMIT");
    let message = expect_error(
        c.execute_statement().statement("").send().await,
        "ValidationException",
    );
    assert!(message.contains("statement"), "{message}");

    // ReturnValuesOnConditionCheckFailure = ALL_OLD returns the item with the failure.
    let err = c
        .execute_statement()
        .statement("UPDATE Music SET v = 3 WHERE Artist = 'a' AND SongTitle = 't' AND v = 99")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    match err.into_service_error() {
        ExecuteStatementError::ConditionalCheckFailedException(e) => {
            let old = e.item().expect("the old item");
            assert_eq!(get_n(old, "v"), Some("1"));
        }
        other => panic!("expected ConditionalCheckFailedException, got {other:?}"),
    }
}

#[tokio::test]
async fn select_pages_with_next_token_and_limit() {
    let server = Server::start().await;
    let c = server.client();
    create_composite_table(&c, "paged").await;
    for i in 0..10 {
        exec(
            &c,
            "INSERT INTO paged VALUE {'pk': 'p', 'sk': ?, 'odd': ?}",
            vec![ni(i), AttributeValue::Bool(i % 2 == 1)],
        )
        .await;
    }
    exec(&c, "INSERT INTO paged VALUE {'pk': 'q', 'sk': 0}", vec![]).await;

    for (statement, expected) in [
        ("SELECT * FROM paged WHERE pk = ?", 10usize),
        ("SELECT sk FROM paged WHERE pk = ? AND odd = true", 5),
        ("SELECT * FROM paged WHERE pk = ? OR sk > 100", 10),
    ] {
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let out = c
                .execute_statement()
                .statement(statement)
                .parameters(s("p"))
                .limit(3)
                .consistent_read(true)
                .set_next_token(token.clone())
                .send()
                .await
                .unwrap();
            pages += 1;
            assert!(out.items().len() <= 3);
            seen.extend(
                out.items()
                    .iter()
                    .map(|i| get_n(i, "sk").unwrap().to_owned()),
            );
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
            assert!(pages < 20, "{statement}: no end of pages");
        }
        assert_eq!(seen.len(), expected, "{statement}: {seen:?}");
        let mut distinct = seen.clone();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            expected,
            "{statement}: repeated items {seen:?}"
        );
    }

    // A token only continues the statement it was issued for.
    let first = c
        .execute_statement()
        .statement("SELECT * FROM paged WHERE pk = ?")
        .parameters(s("p"))
        .limit(2)
        .send()
        .await
        .unwrap();
    let token = first.next_token().unwrap().to_owned();
    let message = expect_error(
        c.execute_statement()
            .statement("SELECT * FROM paged WHERE pk = ?")
            .parameters(s("q"))
            .next_token(&token)
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(message, "NextToken does not match request");
    let message = expect_error(
        c.execute_statement()
            .statement("SELECT * FROM paged")
            .next_token("not-a-token")
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(message, "Invalid NextToken");
    let descending = c
        .execute_statement()
        .statement("SELECT sk FROM paged WHERE pk = 'p' ORDER BY sk DESC")
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(get_n(&descending.items()[0], "sk"), Some("9"));
}

#[tokio::test]
async fn select_on_an_index_and_consumed_capacity() {
    let server = Server::start().await;
    let c = server.client();
    c.create_table()
        .table_name("players")
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
        .send()
        .await
        .unwrap();
    wait_active(&c, "players").await;
    let batch: Vec<BatchStatementRequest> = [("a", "red", 30), ("b", "red", 10), ("c", "blue", 5)]
        .iter()
        .map(|(pk, team, score)| {
            batch_stmt(
                "INSERT INTO players VALUE {'pk': ?, 'team': ?, 'score': ?}",
                vec![s(pk), s(team), ni(*score)],
            )
        })
        .collect();
    let out = c
        .batch_execute_statement()
        .set_statements(Some(batch))
        .send()
        .await
        .unwrap();
    assert!(
        out.responses().iter().all(|r| r.error().is_none()),
        "{out:?}"
    );

    let red = exec(
        &c,
        "SELECT pk, score FROM \"players\".\"by_team\" WHERE team = ? AND score > ?",
        vec![s("red"), ni(5)],
    )
    .await;
    let pks: Vec<&str> = red.iter().map(|i| get_s(i, "pk").unwrap()).collect();
    assert_eq!(pks, ["b", "a"]);
    let message = expect_error(
        c.execute_statement()
            .statement("SELECT * FROM \"players\".\"by_team\" WHERE team = 'red'")
            .consistent_read(true)
            .send()
            .await,
        "ValidationException",
    );
    assert!(message.to_lowercase().contains("consistent"), "{message}");

    let out = c
        .execute_statement()
        .statement("SELECT * FROM players WHERE pk = 'a'")
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    let consumed = out.consumed_capacity().expect("ConsumedCapacity");
    assert_eq!(consumed.table_name(), Some("players"));
    assert!(consumed.capacity_units().unwrap_or(0.0) > 0.0);
}

#[tokio::test]
async fn batch_execute_statement() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "bat").await;
    exec(&c, "INSERT INTO bat VALUE {'pk': 'taken', 'v': 0}", vec![]).await;
    exec(&c, "INSERT INTO bat VALUE {'pk': 'gone', 'v': 0}", vec![]).await;

    let out = c
        .batch_execute_statement()
        .statements(batch_stmt(
            "INSERT INTO bat VALUE {'pk': 'one', 'v': 1}",
            vec![],
        ))
        .statements(batch_stmt(
            "INSERT INTO bat VALUE {'pk': ?, 'v': 2}",
            vec![s("taken")],
        ))
        .statements(batch_stmt(
            "UPDATE bat SET v = v + 1 WHERE pk = 'missing'",
            vec![],
        ))
        .statements(batch_stmt(
            "DELETE FROM bat WHERE pk = 'gone' AND v = 0",
            vec![],
        ))
        .statements(batch_stmt("INSERT INTO bat VALUE {", vec![]))
        .send()
        .await
        .unwrap();
    let r = out.responses();
    assert_eq!(r.len(), 5);
    assert!(r[0].error().is_none());
    assert_eq!(r[0].table_name(), Some("bat"));
    let duplicate = r[1].error().unwrap();
    assert_eq!(
        duplicate.code(),
        Some(&BatchStatementErrorCodeEnum::DuplicateItem)
    );
    assert_eq!(
        duplicate.message(),
        Some("Duplicate primary key exists in table")
    );
    assert_eq!(
        r[2].error().unwrap().code(),
        Some(&BatchStatementErrorCodeEnum::ConditionalCheckFailed)
    );
    assert!(r[3].error().is_none());
    let syntax = r[4].error().unwrap();
    assert_eq!(
        syntax.code(),
        Some(&BatchStatementErrorCodeEnum::ValidationError)
    );
    assert!(syntax
        .message()
        .unwrap()
        .starts_with("Statement wasn't well formed, can't be processed: "));

    let out = c
        .batch_execute_statement()
        .statements(batch_stmt("SELECT * FROM bat WHERE pk = ?", vec![s("one")]))
        .statements(batch_stmt("SELECT v FROM bat WHERE pk = 'absent'", vec![]))
        .statements(batch_stmt("SELECT * FROM bat WHERE v = 1", vec![]))
        .statements(batch_stmt("SELECT * FROM nowhere WHERE pk = 'x'", vec![]))
        .send()
        .await
        .unwrap();
    let r = out.responses();
    assert_eq!(get_n(r[0].item().unwrap(), "v"), Some("1"));
    assert!(
        r[1].item().is_none() && r[1].error().is_none(),
        "{:?}",
        r[1]
    );
    let not_single = r[2].error().unwrap();
    assert_eq!(
        not_single.code(),
        Some(&BatchStatementErrorCodeEnum::ValidationError)
    );
    assert_eq!(
        not_single.message(),
        Some("Only single item select is supported")
    );
    assert_eq!(
        r[3].error().unwrap().code(),
        Some(&BatchStatementErrorCodeEnum::ResourceNotFound)
    );

    let message = expect_error(
        c.batch_execute_statement()
            .statements(batch_stmt("SELECT * FROM bat WHERE pk = 'one'", vec![]))
            .statements(batch_stmt("DELETE FROM bat WHERE pk = 'one'", vec![]))
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "Read and write requests together in the same batch is not supported."
    );
    let too_many: Vec<BatchStatementRequest> = (0..26)
        .map(|i| batch_stmt(&format!("DELETE FROM bat WHERE pk = 'k{i}'"), vec![]))
        .collect();
    let message = expect_error(
        c.batch_execute_statement()
            .set_statements(Some(too_many))
            .send()
            .await,
        "ValidationException",
    );
    assert!(message.contains("less than or equal to 25"), "{message}");
    let message = expect_error(
        c.batch_execute_statement()
            .statements(batch_stmt("DELETE FROM bat WHERE pk = 'one'", vec![]))
            .statements(batch_stmt("UPDATE bat SET v = 3 WHERE pk = 'one'", vec![]))
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(message, "Provided list of item keys contains duplicates");
}

#[tokio::test]
async fn execute_transaction() {
    let server = Server::start().await;
    let c = server.client();
    create_simple_table(&c, "txn").await;
    exec(
        &c,
        "INSERT INTO txn VALUE {'pk': 'acct', 'balance': 100}",
        vec![],
    )
    .await;

    c.execute_transaction()
        .transact_statements(tx_stmt(
            "UPDATE txn SET balance = balance - ? WHERE pk = 'acct' AND balance >= ?",
            vec![ni(30), ni(30)],
        ))
        .transact_statements(tx_stmt(
            "INSERT INTO txn VALUE {'pk': 'log1', 'amount': 30}",
            vec![],
        ))
        .send()
        .await
        .unwrap();

    // One duplicate INSERT cancels everything, with a reason per statement.
    let err = c
        .execute_transaction()
        .transact_statements(tx_stmt(
            "UPDATE txn SET balance = balance - 30 WHERE pk = 'acct'",
            vec![],
        ))
        .transact_statements(tx_stmt(
            "INSERT INTO txn VALUE {'pk': 'log1', 'amount': 30}",
            vec![],
        ))
        .send()
        .await
        .unwrap_err();
    match err.into_service_error() {
        ExecuteTransactionError::TransactionCanceledException(e) => {
            let codes: Vec<&str> = e
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or_default())
                .collect();
            assert_eq!(codes, ["None", "DuplicateItem"]);
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
    // EXISTS is a condition check; a failing one cancels the transaction.
    let err = c
        .execute_transaction()
        .transact_statements(tx_stmt(
            "EXISTS(SELECT * FROM txn WHERE pk = 'acct' AND balance > 1000)",
            vec![],
        ))
        .transact_statements(tx_stmt("DELETE FROM txn WHERE pk = 'log1'", vec![]))
        .send()
        .await
        .unwrap_err();
    match err.into_service_error() {
        ExecuteTransactionError::TransactionCanceledException(e) => {
            let codes: Vec<&str> = e
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or_default())
                .collect();
            assert_eq!(codes, ["ConditionalCheckFailed", "None"]);
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }

    let out = c
        .execute_transaction()
        .transact_statements(tx_stmt(
            "SELECT balance FROM txn WHERE pk = ?",
            vec![s("acct")],
        ))
        .transact_statements(tx_stmt("SELECT * FROM txn WHERE pk = 'log1'", vec![]))
        .transact_statements(tx_stmt("SELECT * FROM txn WHERE pk = 'none'", vec![]))
        .send()
        .await
        .unwrap();
    let r = out.responses();
    assert_eq!(r.len(), 3);
    assert_eq!(get_n(r[0].item().unwrap(), "balance"), Some("70"));
    assert!(!r[0].item().unwrap().contains_key("pk"));
    assert_eq!(get_n(r[1].item().unwrap(), "amount"), Some("30"));
    assert!(r[2].item().is_none());

    // ClientRequestToken: a retry is not applied twice; another request with it is refused.
    for _ in 0..2 {
        c.execute_transaction()
            .client_request_token("token-1")
            .transact_statements(tx_stmt(
                "UPDATE txn SET balance = balance + 1 WHERE pk = 'acct'",
                vec![],
            ))
            .send()
            .await
            .unwrap();
    }
    let balance = exec(&c, "SELECT balance FROM txn WHERE pk = 'acct'", vec![]).await;
    assert_eq!(get_n(&balance[0], "balance"), Some("71"));
    expect_error(
        c.execute_transaction()
            .client_request_token("token-1")
            .transact_statements(tx_stmt(
                "UPDATE txn SET balance = balance + 2 WHERE pk = 'acct'",
                vec![],
            ))
            .send()
            .await,
        "IdempotentParameterMismatchException",
    );

    let message = expect_error(
        c.execute_transaction()
            .transact_statements(tx_stmt("SELECT * FROM txn WHERE pk = 'acct'", vec![]))
            .transact_statements(tx_stmt("DELETE FROM txn WHERE pk = 'log1'", vec![]))
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "ExecuteTransaction API does not support both read and write operations in the same request."
    );
    let message = expect_error(
        c.execute_transaction()
            .transact_statements(tx_stmt("SELECT * FROM txn WHERE balance > 1", vec![]))
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "Select statements within ExecuteTransaction must specify the primary key in the where clause."
    );
    let message = expect_error(
        c.execute_transaction()
            .transact_statements(tx_stmt("DELETE FROM txn WHERE pk = 'log1'", vec![]))
            .transact_statements(tx_stmt("UPDATE txn SET a = 1 WHERE pk = 'log1'", vec![]))
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "Transaction request cannot include multiple operations on one item"
    );
    let message = expect_error(
        c.execute_transaction()
            .transact_statements(tx_stmt(
                "DELETE FROM txn WHERE pk = 'log1' RETURNING ALL OLD *",
                vec![],
            ))
            .send()
            .await,
        "ValidationException",
    );
    assert_eq!(
        message,
        "RETURNING clause is not supported in ExecuteTransaction."
    );
    // Nothing above changed the log entry.
    let log = exec(&c, "SELECT * FROM txn WHERE pk = 'log1'", vec![]).await;
    assert_eq!(log.len(), 1);
}
