"""Hypothesis strategies for the cookiecutter answers: mostly hostile, sometimes fine."""

from __future__ import annotations

from hypothesis import strategies as st

DEFAULTS = {
    "project_name": "Flight Delays", "project_slug": "flight-delays", "description": "d", "author_name": "Ann",
    "author_email": "ann@example.com", "python_version": "3.11", "task": "classification", "dvc_remote": "local",
    "mlflow_tracking_uri": "", "default_branch": "main", "dev_branch": "dev", "release_branch_prefix": "release/",
    "license": "MIT", "include_notebooks": "yes", "engine": "pandas",
}  # fmt: skip
SECRET = "s3cret-Value"
HOSTS = st.sampled_from(["mlflow.example.com", "127.0.0.1:5000", "db", "", "[::1]:8080", "a" * 70])
USERINFO = st.sampled_from(["", "alice@", f"alice:{SECRET}@", f"{SECRET}@", f":{SECRET}@", "@"])
QUERIES = st.sampled_from(["", "?x=1", f"?password={SECRET}", f"?access_token={SECRET}", f"?sslmode=require&key={SECRET}"])
URIS = st.one_of(
    st.builds(lambda scheme, user, host, path, query: f"{scheme}://{user}{host}{path}{query}",
              st.sampled_from(["http", "https", "postgresql", "postgresql+psycopg2", "ftp", "file", "sqlite"]),
              USERINFO, HOSTS, st.sampled_from(["", "/", "/mlflow", "/../x", "//etc"]), QUERIES),  # fmt: skip
    st.sampled_from(["sqlite:///mlflow.db", "sqlite:////abs.db", "sqlite:///a/../../b.db", "file:///etc", "databricks"]),
    st.text(max_size=40),
)
SLUGS = st.one_of(
    st.from_regex(r"\A[a-z][a-z0-9]{0,12}(-[a-z0-9]{1,6}){0,3}\Z"),
    st.sampled_from(["tests", "test", "json", "mlflow", "class", "src", "configs", "data", "x" * 41]),
    st.text(max_size=45),
)
TEXT = st.text(max_size=90)  # any Unicode, control characters and quotes included
FIELDS = {
    "project_name": TEXT, "project_slug": SLUGS, "description": st.text(max_size=220), "author_name": TEXT,
    "author_email": st.one_of(st.emails(), TEXT), "mlflow_tracking_uri": URIS, "default_branch": TEXT,
    "dev_branch": TEXT, "release_branch_prefix": TEXT,
}  # fmt: skip


@st.composite
def answers(draw) -> dict:
    """The defaults with one to four answers replaced by random, often hostile, values."""
    changed = draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=1, max_size=4, unique=True))
    return {**DEFAULTS, **{field: draw(FIELDS[field]) for field in changed}}


