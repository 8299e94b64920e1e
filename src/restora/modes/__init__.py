"""Value-realization modes of mine ecological products and their IAD evaluation."""
