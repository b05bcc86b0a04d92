"""Write the StoreHub handheld icons: icon.svg and PNGs rendered from it by Chromium (run from the repo root:
``.venv/bin/python handheld_ui/icons/make_icons.py``). The hub serves the results; this script is only needed
when the design changes."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
BARS = [(132, 18), (164, 10), (188, 26), (228, 10), (252, 18), (284, 26), (324, 10), (348, 18), (378, 8)]


def svg(maskable: bool = False) -> str:
    scale = 0.8 if maskable else 1.0
    off = 256 * (1 - scale)
    bg = '<rect width="512" height="512" fill="#0b1b33"/>' if maskable else \
        '<rect width="512" height="512" rx="112" fill="#0b1b33"/>'
    bars = "".join(f'<rect x="{x}" y="150" width="{w}" height="212" rx="3" fill="#ffffff"/>' for x, w in BARS)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">{bg}'
            f'<g transform="translate({off} {off}) scale({scale})">{bars}'
            '<rect x="96" y="244" width="320" height="26" rx="13" fill="#f59e0b"/></g></svg>\n')


def main() -> None:
    from playwright.sync_api import sync_playwright

    (HERE / "icon.svg").write_text(svg())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for name, size, mask in (("icon-192.png", 192, False), ("icon-512.png", 512, False),
                                 ("icon-maskable-512.png", 512, True)):
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(f'<style>html,body{{margin:0;background:transparent}}svg{{width:{size}px;height:{size}px;display:block}}</style>{svg(mask)}')
            page.screenshot(path=str(HERE / name), omit_background=True)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
