"""Understanding without an LLM: embedders, the intent classifier and slot extractors."""
