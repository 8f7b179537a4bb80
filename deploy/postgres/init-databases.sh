#!/usr/bin/env bash
# Creates the assistant's role and its two databases on the first start of the official
# postgres image (it runs /docker-entrypoint-initdb.d/* once, on an empty data directory).
#
#   ecrin    partners and events      (DATABASE_URL)
#   tracker  Rasa's conversations and the review app's tables (TRACKER_STORE_URL)
#
# They must be two databases: both hold a table called `events`.
# The role owns both databases but is not a superuser. Its password comes from
# ECRIN_DB_PASSWORD and is passed as a psql variable, so quotes in it cannot break the SQL.
set -euo pipefail

: "${ECRIN_DB_PASSWORD:?ECRIN_DB_PASSWORD must be set for the postgres service}"

psql --variable=ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     --set=password="$ECRIN_DB_PASSWORD" <<'SQL'
CREATE ROLE ecrin LOGIN PASSWORD :'password';
CREATE DATABASE ecrin OWNER ecrin;
CREATE DATABASE tracker OWNER ecrin;
SQL
