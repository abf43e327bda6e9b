"""The rules of practice and contests as plain functions: ranking, predictions, review, layout."""
