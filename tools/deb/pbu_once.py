"""One PBU for the install test, from the MAG namespace; prints 'STATUS HNP' ('none -' without a PBA).

Uses the repository's codec-built sender (tests/integration/pbu_client.py, copied next to this
file into the job directory) and the installed pmiprouter.mh: one Python start per PBU, which
matters under TCG.
"""

from __future__ import annotations

import json
import sys

from pbu_client import build, describe, exchange_ipv6

from pmiprouter.mh import BindingAcknowledgement, decode, encode

step = json.loads(sys.argv[1])
try:
    pba = decode(exchange_ipv6(step, encode(build(step))))
except OSError:  # TimeoutError included: no PBA
    print('none -')
    raise SystemExit(0) from None
assert isinstance(pba, BindingAcknowledgement)
result = describe(pba)
print(result['status'], (result['hnps'] or ['-'])[0])
