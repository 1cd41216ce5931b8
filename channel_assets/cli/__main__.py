"""`python -m channel_assets.cli`: the same as the `channel-assets` command."""

import sys

from channel_assets.cli.main import main

sys.exit(main())
