"""Format-independent saving machinery: snapshot, async persist, validate-then-assign restore,
the whole-model pipeline."""
