"""drift package."""
