"""The tour: a tiny worked example of the notebook shape (the birthday problem), with an exact oracle."""
