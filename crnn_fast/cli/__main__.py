"""``python -m crnn_fast.cli``: the ``crnn-fast`` command."""

import sys

from crnn_fast.cli.app import main

sys.exit(main())
