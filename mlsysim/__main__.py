import sys

from mlsysim.cli import main

sys.exit(main())
