"""Analysis of training logs and of what each cascade stage contributes."""
