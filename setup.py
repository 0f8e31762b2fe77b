"""Build nova-tx: the Python package, the Cython kernel and the twistd plugins.

Every ``_speedups/NAME.pyx`` becomes the extension module ``nova_tx._speedups.NAME``;
later kernels are added by dropping a ``.pyx`` file there.
"""
import glob
import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_namespace_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version() -> str:
    scope: dict = {}
    with open(os.path.join(HERE, "nova_tx", "version.py")) as f:
        exec(f.read(), scope)
    return scope["version_string"]


def _requirements() -> list[str]:
    with open(os.path.join(HERE, "requirements.txt")) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def _extensions() -> list[Extension]:
    sources = sorted(glob.glob(os.path.join("_speedups", "*.pyx")))
    return [
        Extension(
            "nova_tx._speedups." + os.path.splitext(os.path.basename(src))[0],
            [src],
            include_dirs=[numpy.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=["-O3"],
        )
        for src in sources
    ]


SERVICES = ["api", "api-metadata", "compute", "conductor", "scheduler", "allinone"]

setup(
    name="nova-tx",
    version=_version(),
    description="OpenStack Compute (Nova) rebuilt on Twisted",
    python_requires=">=3.11",
    # twisted.plugins holds only our twistd service makers; it has no __init__.py on
    # purpose (Twisted's own package extends its __path__ to find them).
    # Namespace discovery so the Alembic directories (plain directories of scripts)
    # ship with the package.
    packages=find_namespace_packages(include=["nova_tx", "nova_tx.*"]) + ["twisted.plugins"],
    package_data={"nova_tx.db.api.migrations": ["*.mako"],
                  "nova_tx.db.main.migrations": ["*.mako"],
                  "nova_tx.db.placement.migrations": ["*.mako"],
                  # The AMQP 0-9-1 protocol definition the txamqp transport loads.
                  "nova_tx.bus": ["specs/*.xml"]},
    install_requires=_requirements(),
    extras_require={"test": ["hypothesis", "ruff", "oslo.messaging", "gabbi>=4,<5",
                                "openstack-placement==16.0.0", "keystoneauth1",
                                "openstacksdk", "python-openstackclient"]},
    ext_modules=cythonize(
        _extensions(), language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    ),
    entry_points={
        "console_scripts": [
            *(f"nova-{name} = nova_tx.cmd.services:main_{name.replace('-', '_')}"
              for name in SERVICES),
            "nova-manage = nova_tx.cmd.manage:main",
            "nova-tx-placement = nova_tx.cmd.services:main_tx_placement",
            "nova-tx-identity = nova_tx.cmd.services:main_tx_identity",
            "nova-tx-image = nova_tx.cmd.services:main_tx_image",
            "nova-tx-network = nova_tx.cmd.services:main_tx_network",
            "nova-status = nova_tx.cmd.status:main",
        ],
        "oslo.config.opts": ["nova_tx.conf = nova_tx.conf.opts:list_opts"],
        "oslo.policy.policies": ["nova_tx = nova_tx.policies:list_rules"],
        "oslo.policy.enforcer": ["nova_tx = nova_tx.policy:get_enforcer"],
    },
    zip_safe=False,
)
