"""Your own Pulumi program in Python, with kmod-fleet's Fleet component.

kmod-fleet is written in TypeScript; Pulumi runs it as a component package and generates
this program's SDK (`pulumi_kmod_fleet`) from its types. Set up, in this folder:

    npm install                                          # kmod-fleet, its Node.js side
    pulumi package add ./node_modules/kmod-fleet/plugin  # generates sdks/kmod-fleet
    python3 -m venv venv && venv/bin/pip install -r requirements.txt
    pulumi stack init dev
    pulumi config set host 10.0.0.5 && pulumi config set hostKey "ssh-ed25519 AAAA..."
    pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519
    pulumi preview

The Fleet's resources (host facts, overlay, installs, loads) are Node.js dynamic
resources: their provider runs with Node.js from this folder, where npm installed
kmod-fleet. The args are the TypeScript Fleet's (README, "Use it in your own Pulumi
program"), in snake_case.
"""
import pulumi
from pulumi_kmod_fleet import Fleet

config = pulumi.Config()

fleet = Fleet(
    "fleet",
    hosts=[
        {
            "name": "h1",
            "address": config.require("host"),
            "port": config.get_int("port") or 22,
            "host_key": config.require("hostKey"),
        }
    ],
    defaults={
        # Flatcar's user is core (steps then run with sudo -n); the test's host logs in as root.
        "user": config.get("user") or "core",
        # A secret: it stays a secret in state and is never printed.
        "auth": {"private_key": config.require_secret("sshPrivateKey")},
    },
    # Left out, these are Flatcar's release files and kernel config places.
    profile=config.get_object("profile"),
    kernel_config_sources=config.get_object("kernelConfigSources"),
    module_sets=[
        {
            # Two out-of-tree modules: pair_consumer uses a symbol pair_provider exports.
            "name": "kmod-pair",
            "source": {"dir": config.get("kmodPairSources") or "../../dev/testbed/fixtures/kmod-pair"},
            "load": ["pair_provider", "pair_consumer"],
        }
    ],
)

# Per host: kernel release, OS version, and the modules built for each set.
pulumi.export("hosts", fleet.summary)
