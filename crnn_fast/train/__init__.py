"""Training, evaluation and prediction for MindOCR-style CRNN configs (``crnn-fast train``)."""
