import sys

from maskassets.cli.main import main

sys.exit(main())
