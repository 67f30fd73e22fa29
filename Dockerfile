# The meridian binary in a small image. Built by docker-compose.yml (3 regions x 3 nodes).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p meridian-server && cp target/release/meridian /usr/local/bin/meridian

FROM debian:bookworm-slim
COPY --from=build /usr/local/bin/meridian /usr/local/bin/meridian
VOLUME ["/data"]
EXPOSE 8000 9000
ENTRYPOINT ["/usr/local/bin/meridian"]
CMD ["serve", "--config", "/etc/meridian/node.toml"]
