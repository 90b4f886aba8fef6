"""Scripts and configs that produce and evaluate model directories (uses the chatbot library)."""
