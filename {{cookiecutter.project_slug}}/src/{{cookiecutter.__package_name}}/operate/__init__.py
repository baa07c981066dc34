"""The production cycle over time: ingest, score, monitor, alert, retrain, roll back, retain, publish, replay."""
