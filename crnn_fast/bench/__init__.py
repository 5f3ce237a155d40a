"""``crnn-fast bench``: the benchmark suite as a product.

- ``suites/``: the pytest-benchmark suites (CTC, LSTM, convolutions, the whole CRNN step and
  inference, decoding throughput) timing crnn_fast's backends against MindSpore's stock ops,
  PyTorch and ONNX Runtime in the same run; ``plugin``: their pytest plugin;
- ``rows``: the results JSON and its rows; ``baseline``: saved baselines and the regression
  compare; ``report``: the Markdown report and its charts; ``runner``: the command itself.
"""
