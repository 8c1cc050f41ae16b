"""The posters' Chromium on a server: npm's @sparticuz/chromium, a headless build for Amazon
Linux 2023 that brings its own libraries, fonts and SwiftShader (WebGL without a GPU), shipped
in the artifact with the worker's other Node packages, so an instance needs no browser
download. x86_64 only, like the worker's instance types. Unpacked once at boot:

python -m modelworker.chromium <folder>   # writes <folder>/chromium and what it needs
"""

from __future__ import annotations

import io
import sys
import tarfile
from pathlib import Path

import brotli

PACKAGE = Path(__file__).resolve().parent / "node_modules" / "@sparticuz" / "chromium" / "bin"
BROWSER = "chromium"
# Each archive of the package, and the sub-folder it unpacks into (the layout its own
# launcher makes): SwiftShader's libraries beside the browser, which loads them from there.
ARCHIVES = {"swiftshader.tar.br": "", "fonts.tar.br": "fonts", "al2023.tar.br": "al2023"}


def unpack(folder: Path, package: Path = PACKAGE) -> Path:
    """The browser's path, once everything it needs is in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for archive, inside in ARCHIVES.items():
        data = brotli.decompress((package / archive).read_bytes())
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(folder / inside, filter="data")
    browser = folder / BROWSER
    browser.write_bytes(brotli.decompress((package / f"{BROWSER}.br").read_bytes()))
    browser.chmod(0o755)
    return browser


def environment(browser: Path) -> dict[str, str]:
    """What a browser unpacked by `unpack` needs in its environment (nothing for another)."""
    folder = browser.parent
    needs = {
        "LD_LIBRARY_PATH": folder / ARCHIVES["al2023.tar.br"] / "lib",
        "FONTCONFIG_PATH": folder / ARCHIVES["fonts.tar.br"],
    }
    return {name: str(path) for name, path in needs.items() if path.is_dir()}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m modelworker.chromium <folder>")
    print(unpack(Path(sys.argv[1])))
