"""Model -> inference artifact (the model directory's inference program today)."""
