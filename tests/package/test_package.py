#!/usr/bin/env python3
"""The Debian package and the install (issue 15; cmake/Packaging.cmake, packaging/).

    python3 tests/package/test_package.py --build-dir build [--samples tests/e2e/data/seed-sample] [-v] [--keep]

cpack builds the package from the build directory (which must be built: the binary, the man page) into a
temporary directory, and `dpkg-deb -x` unpacks it into a temporary root. Then:
- the control fields: name, version (the project's, Debian revision 1), maintainer, section, Depends computed
  by dpkg-shlibdeps (libc6 and the others, adduser; not libduckdb, which is inside), the conffile, and the
  maintainer scripts (the postinst makes the system user dimstream, without login);
- the files: the binary in /usr/bin with the RUNPATH $ORIGIN/../lib/dimstream, DuckDB's library in
  /usr/lib/dimstream, and the binary, run from the root without LD_LIBRARY_PATH, loads that one;
- the four seed sample files through `run --until-idle` of the unpacked binary with the unpacked
  /etc/dimstream/dimstream.toml: every key of the files in customer_current, `check` exits 0;
- the man page names every subcommand `dimstream --help` lists, and every option of each `<cmd> --help`;
- the systemd unit's command and sandboxing lines (and `systemd-analyze verify`, where there is one);
- every example configuration is read without a configuration error;
- lintian reports no error (E:) on the package; its warnings are printed;
- `cmake --install --prefix P` puts the same files under P (with P/etc and P/lib/systemd).
"""

import argparse
import csv
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_SAMPLES = os.path.join(HERE, "..", "e2e", "data", "seed-sample")
TIMEOUT = 600

EXEC_START = ("/usr/bin/dimstream --config /etc/dimstream/dimstream.toml --data-dir /var/lib/dimstream "
              "run --quiet")
UNIT_LINES = (
    f"ExecStart={EXEC_START}",
    "User=dimstream",
    "StateDirectory=dimstream",
    "ProtectSystem=strict",
    "ProtectHome=true",
    "PrivateTmp=true",
    "NoNewPrivileges=true",
    "PrivateDevices=true",
    "CapabilityBoundingSet=",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    "RestrictNamespaces=true",
    "SystemCallFilter=@system-service",
    "Restart=on-failure",
    "KillSignal=SIGINT",
    "WantedBy=multi-user.target",
)


class Options:
    build_dir = None
    samples = REPO_SAMPLES
    cpack = "cpack"
    cmake = "cmake"
    version = None
    keep = False


OPTIONS = Options()


def environment():
    """The environment of the unpacked binary: no LD_LIBRARY_PATH, so that only its RUNPATH finds DuckDB."""
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    env.pop("LD_PRELOAD", None)
    return env


def run(args, check=True, **kwargs):
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=TIMEOUT,
                          env=kwargs.pop("env", environment()), **kwargs)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def subcommands(binary):
    """The subcommands `dimstream --help` lists under "Subcommands:"."""
    names, listing = [], False
    for line in run([binary, "--help"]).stdout.splitlines():
        if line.startswith("Subcommands:"):
            listing = True
        elif listing and re.match(r"^  [a-z]", line):
            names.append(line.split()[0])
        elif listing and line and not line.startswith(" "):
            listing = False
    return names


def long_options(text):
    """The --options a help text lists (each at the start of an indented line)."""
    return sorted({m.group(1) for m in re.finditer(r"^  (?:-\w,)?(--[a-z][a-z0-9-]*)", text, re.M)})


def elf_runpath(path):
    out = run(["readelf", "-d", path]).stdout
    m = re.search(r"\((?:RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[(.*)\]", out)
    return m.group(1) if m else None


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="dimstream-package-")
        if OPTIONS.keep:
            print(f"\nkeeping {cls.tmp}", file=sys.stderr)
        out = os.path.join(cls.tmp, "out")
        run([OPTIONS.cpack, "-G", "DEB", "--config", os.path.join(OPTIONS.build_dir, "CPackConfig.cmake"),
             "-B", out])
        debs = glob.glob(os.path.join(out, "dimstream_*.deb"))
        if len(debs) != 1:
            raise AssertionError(f"cpack made {debs} in {out}, not one dimstream_*.deb")
        cls.deb = debs[0]
        cls.root = os.path.join(cls.tmp, "root")
        run(["dpkg-deb", "-x", cls.deb, cls.root])
        cls.control = os.path.join(cls.tmp, "control")
        run(["dpkg-deb", "-e", cls.deb, cls.control])
        cls.binary = os.path.join(cls.root, "usr", "bin", "dimstream")

    @classmethod
    def tearDownClass(cls):
        if not OPTIONS.keep:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def field(self, name):
        return run(["dpkg-deb", "-f", self.deb, name]).stdout.strip()

    def test_control_fields(self):
        self.assertEqual(self.field("Package"), "dimstream")
        self.assertEqual(self.field("Version"), f"{OPTIONS.version}-1")
        self.assertEqual(self.field("Architecture"), run(["dpkg", "--print-architecture"]).stdout.strip())
        self.assertRegex(self.field("Maintainer"), r"^[^<>]+ <[^<>@\s]+@[^<>@\s]+>$")
        self.assertEqual(self.field("Section"), "database")
        self.assertTrue(self.field("Description"))
        self.assertEqual(os.path.basename(self.deb), f"dimstream_{OPTIONS.version}-1_{self.field('Architecture')}.deb")
        depends = [d.strip().split()[0] for d in self.field("Depends").split(",")]
        # dpkg-shlibdeps' part: the C library, the C++ runtime and the libraries of the adapters.
        for package in ("adduser", "libc6", "libstdc++6", "libcurl4", "libpq5", "librabbitmq4", "libssl3"):
            self.assertIn(package, depends)
        self.assertFalse([d for d in depends if "duckdb" in d], depends)

    def test_maintainer_scripts_and_conffiles(self):
        with open(os.path.join(self.control, "conffiles")) as f:
            self.assertEqual(f.read().split(), ["/etc/dimstream/dimstream.toml"])
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(self.control, script)
            self.assertTrue(os.access(path, os.X_OK), script)
            run(["sh", "-n", path])
        with open(os.path.join(self.control, "postinst")) as f:
            postinst = f.read()
        adduser = re.search(r"adduser --system [^\n]*(?:\\\n[^\n]*)*", postinst)
        self.assertIsNotNone(adduser, postinst)
        for arg in ("--group", "--home /var/lib/dimstream", "--shell /usr/sbin/nologin", "dimstream"):
            self.assertIn(arg, adduser.group(0))

    def test_postinst_makes_the_system_user(self):
        """postinst configure, run twice, in a mount namespace of its own where /etc and /var/lib are overlays
        (so that this machine's users stay as they are); then prerm remove and postrm purge."""
        if os.geteuid() != 0 or not shutil.which("unshare"):
            raise unittest.SkipTest("needs root and unshare")
        ns = os.path.join(self.tmp, "ns")
        for d in ("etc-upper", "etc-work", "var-upper", "var-work"):
            os.makedirs(os.path.join(ns, d))
        script = os.path.join(ns, "script.sh")
        scripts = self.control
        with open(script, "w") as f:
            f.write(f"""set -e
mount -t overlay overlay -o lowerdir=/etc,upperdir={ns}/etc-upper,workdir={ns}/etc-work /etc || exit 77
mount -t overlay overlay -o lowerdir=/var/lib,upperdir={ns}/var-upper,workdir={ns}/var-work /var/lib || exit 77
if getent passwd dimstream >/dev/null; then echo "dimstream exists already"; exit 77; fi
{scripts}/postinst configure ""
{scripts}/postinst configure ""
getent passwd dimstream
getent shadow dimstream
stat -c '%U:%G' /var/lib/dimstream
{scripts}/prerm remove
{scripts}/postrm purge
""")
        proc = run(["unshare", "--mount", "--propagation", "private", "sh", script], check=False)
        if proc.returncode == 77 or "unshare failed" in proc.stderr:
            raise unittest.SkipTest(f"no private mount namespace with overlays here: {proc.stderr.strip()}")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        passwd, shadow, owner = proc.stdout.splitlines()[-3:]
        name, _, uid, gid, _, home, shell = passwd.split(":")
        self.assertEqual((name, home, shell), ("dimstream", "/var/lib/dimstream", "/usr/sbin/nologin"))
        self.assertLess(int(uid), 1000)  # a system user
        self.assertRegex(shadow.split(":")[1], r"^[*!]")  # no password
        self.assertEqual(owner, "dimstream:dimstream")

    def test_files_and_runpath(self):
        self.assertTrue(os.access(self.binary, os.X_OK))
        lib = self.path("usr", "lib", "dimstream", "libduckdb.so")
        self.assertTrue(os.path.isfile(lib))
        self.assertEqual(elf_runpath(self.binary), "$ORIGIN/../lib/dimstream")
        self.assertIsNone(elf_runpath(lib))
        # The dynamic loader resolves libduckdb.so to the root's copy, without LD_LIBRARY_PATH.
        ldd = run(["ldd", self.binary]).stdout
        m = re.search(r"libduckdb\.so => (\S+)", ldd)
        self.assertIsNotNone(m, ldd)
        self.assertEqual(os.path.realpath(m.group(1)), os.path.realpath(lib))
        for part in (("usr", "share", "doc", "dimstream", "copyright"),
                     ("usr", "share", "doc", "dimstream", "changelog.Debian.gz"),
                     ("usr", "share", "man", "man1", "dimstream.1.gz"),
                     ("lib", "systemd", "system", "dimstream.service"),
                     ("etc", "dimstream", "dimstream.toml")):
            self.assertTrue(os.path.isfile(self.path(*part)), os.path.join(*part))
        with gzip.open(self.path("usr", "share", "doc", "dimstream", "changelog.Debian.gz"), "rt") as f:
            self.assertTrue(f.readline().startswith(f"dimstream ({OPTIONS.version}-1) "))
        examples = sorted(glob.glob(self.path("usr", "share", "doc", "dimstream", "examples", "*.toml")))
        self.assertGreaterEqual(len(examples), 2, examples)
        with open(self.path("etc", "dimstream", "dimstream.toml"), "rb") as a, \
                open(self.path("usr", "share", "doc", "dimstream", "examples", "embedded.toml"), "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_runs_the_samples(self):
        files = sorted(glob.glob(os.path.join(OPTIONS.samples, "*.csv")))
        self.assertEqual(len(files), 4, OPTIONS.samples)
        keys = set()
        for path in files:
            with open(path, newline="", encoding="utf-8") as f:
                keys.update(row["customer_id"] for row in csv.DictReader(f))
        data = os.path.join(self.tmp, "data")
        os.makedirs(os.path.join(data, "landing"))
        for path in files:
            shutil.copy(path, os.path.join(data, "landing"))
        cmd = [self.binary, "--config", self.path("etc", "dimstream", "dimstream.toml"), "--data-dir", data]
        run(cmd + ["run", "--until-idle", "--quiet"])
        self.assertEqual(os.listdir(os.path.join(data, "landing")), [])
        out = run(cmd + ["sql", "--format", "csv",
                         "SELECT count(*) AS n, count(DISTINCT customer_id) AS k FROM customer_current"]).stdout
        rows = list(csv.DictReader(out.splitlines()))
        self.assertEqual(rows, [{"n": str(len(keys)), "k": str(len(keys))}])
        self.assertGreater(len(keys), 0)
        out = run(cmd + ["sql", "--format", "csv", "SELECT count(*) AS n FROM load_history WHERE status = 'loaded'"])
        self.assertEqual(list(csv.DictReader(out.stdout.splitlines())), [{"n": "4"}])
        self.assertEqual(run(cmd + ["check"], check=False).returncode, 0)

    def test_man_page_lists_every_subcommand(self):
        with gzip.open(self.path("usr", "share", "man", "man1", "dimstream.1.gz"), "rt") as f:
            page = f.read()
        text = page.replace("\\-", "-")
        self.assertIn(".TH DIMSTREAM 1", page.replace('"', ""))
        self.assertIn(f"dimstream {OPTIONS.version}", page)
        names = subcommands(self.binary)
        for name in ("run", "sql", "check", "config"):
            self.assertIn(name, names)
        for name in names:
            self.assertIn(f'.SS "dimstream {name}"', text)
            section = text.split(f'.SS "dimstream {name}"', 1)[1].split(".SS ", 1)[0]
            own = run([self.binary, name, "--help"]).stdout
            self.assertIn(own.splitlines()[0].replace("\\", "\\e"), section)
            for option in long_options(own):
                self.assertIn(option, section, f"{name} {option}")
        for option in long_options(run([self.binary, "--help"]).stdout):
            self.assertIn(option, text)
        if shutil.which("man"):
            proc = run(["man", "--warnings", "-l", self.path("usr", "share", "man", "man1", "dimstream.1.gz")],
                       env=dict(environment(), MANWIDTH="80", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING=""))
            self.assertEqual(proc.stderr, "")
            self.assertIn("SUBCOMMANDS", proc.stdout)

    def test_systemd_unit(self):
        with open(self.path("lib", "systemd", "system", "dimstream.service")) as f:
            lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
        for line in UNIT_LINES:
            self.assertIn(line, lines)
        if shutil.which("systemd-analyze"):
            # Verified against this machine's units (a root of the package alone has no sysinit.target), its
            # command the unpacked binary.
            with open(self.path("lib", "systemd", "system", "dimstream.service")) as f:
                unit = f.read().replace("ExecStart=/usr/bin/dimstream ", f"ExecStart={self.binary} ")
            self.assertIn(f"ExecStart={self.binary} --config", unit)
            os.makedirs(os.path.join(self.tmp, "units"), exist_ok=True)
            copy = os.path.join(self.tmp, "units", "dimstream.service")
            with open(copy, "w") as f:
                f.write(unit)
            proc = run(["systemd-analyze", "verify", "--man=no", copy], check=False)
            self.assertEqual((proc.returncode, proc.stdout + proc.stderr), (0, ""))
            # systemd's own measure of the sandbox: an overall exposure of 2.0 at most (of 10; "OK").
            proc = run(["systemd-analyze", "security", "--offline=true", "--threshold=20", copy], check=False)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_examples_are_read(self):
        data = os.path.join(self.tmp, "examples-data")
        for path in sorted(glob.glob(self.path("usr", "share", "doc", "dimstream", "examples", "*.toml"))):
            with self.subTest(example=os.path.basename(path)):
                proc = run([self.binary, "--config", path, "--data-dir", data, "status"], check=False)
                with open(path) as f:
                    secrets = re.search(r"^\[secrets\]", f.read(), re.M)
                if secrets:
                    # Every key was taken; the command stops at the first credential, which is not here.
                    self.assertEqual(proc.returncode, 1, proc.stderr)
                    self.assertRegex(proc.stderr, r"secrets\.\w+: ")
                else:
                    self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_lintian(self):
        if not shutil.which("lintian"):
            self.fail("lintian is not installed (scripts/setup.sh installs it)")
        proc = run(["lintian", "--no-tag-display-limit", self.deb], check=False)
        lines = (proc.stdout + proc.stderr).splitlines()
        for line in lines:
            if line.startswith("W:"):
                print(f"\nlintian: {line}", file=sys.stderr, end="")
        self.assertEqual([line for line in lines if line.startswith("E:")], [])
        self.assertIn(proc.returncode, (0, 2), "\n".join(lines))  # 2: warnings only

    def test_cmake_install_prefix(self):
        prefix = os.path.join(self.tmp, "prefix")
        run([OPTIONS.cmake, "--install", OPTIONS.build_dir, "--prefix", prefix])
        for part in (("bin", "dimstream"), ("lib", "dimstream", "libduckdb.so"),
                     ("share", "man", "man1", "dimstream.1.gz"),
                     ("share", "doc", "dimstream", "examples", "embedded.toml"),
                     ("share", "doc", "dimstream", "examples", "scaled-out.toml"),
                     ("lib", "systemd", "system", "dimstream.service"), ("etc", "dimstream", "dimstream.toml")):
            self.assertTrue(os.path.isfile(os.path.join(prefix, *part)), os.path.join(*part))
        binary = os.path.join(prefix, "bin", "dimstream")
        self.assertEqual(elf_runpath(binary), "$ORIGIN/../lib/dimstream")
        self.assertEqual(subcommands(binary), subcommands(self.binary))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True, help="the CMake build directory (built)")
    parser.add_argument("--samples", default=REPO_SAMPLES, help="directory of the four seed sample CSV files")
    parser.add_argument("--cpack", default="cpack")
    parser.add_argument("--cmake", default="cmake")
    parser.add_argument("--version", help="the project's version (default: read from CPackConfig.cmake)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and say where")
    args, rest = parser.parse_known_args()
    OPTIONS.build_dir = os.path.abspath(args.build_dir)
    OPTIONS.samples = os.path.abspath(args.samples)
    OPTIONS.cpack, OPTIONS.cmake, OPTIONS.keep = args.cpack, args.cmake, args.keep
    OPTIONS.version = args.version
    if OPTIONS.version is None:
        with open(os.path.join(OPTIONS.build_dir, "CPackConfig.cmake")) as f:
            OPTIONS.version = re.search(r'set\(CPACK_PACKAGE_VERSION "([^"]+)"\)', f.read()).group(1)
    unittest.main(argv=[sys.argv[0]] + rest)


if __name__ == "__main__":
    main()
