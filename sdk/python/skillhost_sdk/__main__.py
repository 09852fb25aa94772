import sys

from skillhost_sdk.build import main

sys.exit(main())
