"""driver-shim tests.

Works both as `unittest discover -s driver-shim/tests` (tests/ is the top
level) and `-s driver-shim/tests -t driver-shim` (tests is a package): the
modules import their helpers as `support`, so this directory goes on
sys.path. The MAAS stand-in (maasstub/) is added by support.load_driver only.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
