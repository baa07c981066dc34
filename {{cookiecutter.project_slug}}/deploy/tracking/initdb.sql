-- The compose file's PostgreSQL creates database mlflow (POSTGRES_DB); the auth app's users live in their own.
CREATE DATABASE mlflow_auth;
