"""`python -m otp_thinking` runs the `otp-thinking` command."""

import sys

from otp_thinking.cli import main

if __name__ == "__main__":
    sys.exit(main())
