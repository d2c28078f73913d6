"""The API gateway (issue 19): FastAPI service in front of the venue."""
