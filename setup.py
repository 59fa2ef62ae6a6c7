"""Packaging for pmiprouter.

`cli/` lives at the top level (the design card fixes the layout) but is installed as
`pmiprouter.cli`: a top-level package called `cli` would collide in dist-packages.
"""

from __future__ import annotations

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r"__version__ = '([^']+)'", (HERE / 'pmiprouter' / '__init__.py').read_text())[1]  # type: ignore[index]

PACKAGES = (
    find_packages(include=['pmiprouter', 'pmiprouter.*'])
    + ['pmiprouter.cli']
    + ['pmiprouter.cli.' + sub for sub in find_packages('cli')]
)

setup(
    name='pmiprouter',
    version=VERSION,
    description='Proxy Mobile IPv6 router appliance (LMA and MAG roles, RFC 5213 and companions)',
    long_description=(HERE / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    license='GPL-2.0-or-later',
    python_requires='>=3.11',
    packages=PACKAGES,
    package_dir={'pmiprouter': 'pmiprouter', 'pmiprouter.cli': 'cli'},
    # Lower bounds are Debian 12's own versions: the code must run on both those and PyPI's newest.
    install_requires=[
        'twisted[conch]>=22.4',  # Conch: the SSH server of the management plane
        'pyroute2>=0.7.2',
        'pyopenssl>=23.0',
        'prompt-toolkit>=3.0.36',
    ],
    extras_require={
        # paramiko and netmiko drive the SSH server in tests as automation tools do (issue 8).
        'test': ['pytest>=7.2', 'hypothesis>=6.67', 'pytest-benchmark>=3.2', 'paramiko>=2.12', 'netmiko>=4.1'],
    },
    entry_points={'console_scripts': ['pmiprouter = pmiprouter.app:main']},
    classifiers=[
        'Programming Language :: Python :: 3.11',
        'Operating System :: POSIX :: Linux',
        'Topic :: System :: Networking',
    ],
)
