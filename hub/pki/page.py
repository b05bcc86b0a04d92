"""The enrolment page: the store CA's fingerprint, a QR code of the page's own address and how to install the CA
on Android and iOS, in zh-CN and en. Pure: the route passes everything in and sends the string out.

It is served over plain HTTP too (a phone that does not trust the CA yet cannot open anything over HTTPS), so
it is one self-contained document: no script, inline style, the QR code as inline SVG, nothing the phone must
fetch except the certificate itself. Whoever could tamper with plain HTTP could swap the certificate, which is
why the page tells the person to compare the fingerprint with the one printed by ``storehub pki status``.
"""

from __future__ import annotations

import html

import segno

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Enrol this device",
        "lead": "Install the certificate of {store} on this phone or till once. After that the StoreHub app opens "
        "over a secure connection, works offline and can use the camera to scan.",
        "fingerprint": "Store CA fingerprint (SHA-256) — check it matches the one your manager shows you:",
        "download_crt": "Download the certificate (Android, iPhone, iPad)",
        "download_pem": "PEM file (computers and tills)",
        "android": "Android",
        "android_steps": "Tap “Download the certificate”.|Open Settings → Security (or Security & privacy) → "
        "More security settings → Encryption & credentials → Install a certificate → "
        "CA certificate, tap “Install anyway” and pick the downloaded file.|"
        "Open the app: {app}",
        "ios": "iPhone and iPad",
        "ios_steps": "Open this page in Safari and tap “Download the certificate”, then “Allow”.|"
        "Open Settings → General → VPN & Device Management, tap the StoreHub profile and Install.|"
        "Open Settings → General → About → Certificate Trust Settings and switch on full trust for "
        "“{ca}”.|Open the app: {app}",
        "mdm": "Managed devices: IT can push this certificate with the device management (MDM) system instead.",
        "qr": "Another device: scan this code with its camera to open this page.",
        "open_app": "Open the StoreHub app",
        "no_ca": "This hub has no store certificate yet. Run “storehub init” on the hub.",
    },
    "zh-CN": {
        "title": "设备加入门店",
        "lead": "在这台手机或收银机上安装一次 {store} 的证书。安装后，StoreHub 应用通过安全连接打开，可以离线使用，"
        "也可以用摄像头扫码。",
        "fingerprint": "门店 CA 指纹（SHA-256）——请与店长提供的指纹核对一致：",
        "download_crt": "下载证书（安卓、iPhone、iPad）",
        "download_pem": "PEM 文件（电脑和收银机）",
        "android": "安卓",
        "android_steps": "点按“下载证书”。|打开 设置 → 安全（或 安全和隐私）→ 更多安全设置 → 加密与凭据 → "
        "安装证书 → CA 证书，点按“仍然安装”，选择下载的文件。|打开应用：{app}",
        "ios": "iPhone 和 iPad",
        "ios_steps": "用 Safari 打开本页，点按“下载证书”，再点“允许”。|"
        "打开 设置 → 通用 → VPN 与设备管理，点按 StoreHub 描述文件并安装。|"
        "打开 设置 → 通用 → 关于本机 → 证书信任设置，为“{ca}”打开完全信任。|打开应用：{app}",
        "mdm": "受管理的设备：IT 可以通过设备管理系统（MDM）统一推送此证书。",
        "qr": "其他设备：用相机扫描此二维码即可打开本页。",
        "open_app": "打开 StoreHub 应用",
        "no_ca": "此集线器还没有门店证书。请在集线器上运行“storehub init”。",
    },
}

STYLE = (
    "body{font-family:system-ui,-apple-system,'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;margin:0 auto;"
    "max-width:40rem;padding:1rem;line-height:1.45;color:#111}"
    "code{font-size:.85rem;word-break:break-all;background:#f3f3f3;padding:.4rem;display:block}"
    "a.btn{display:block;margin:.6rem 0;padding:.9rem;border-radius:.5rem;background:#0b57d0;color:#fff;"
    "text-align:center;text-decoration:none;font-weight:600}a.btn.alt{background:#e8eefb;color:#0b57d0}"
    "ol{padding-left:1.3rem}li{margin:.3rem 0}.qr svg{display:block;margin:.5rem auto}"
)


def qr_svg(url: str) -> str:
    """A QR code (a full-size QR, never a Micro QR: phone cameras read only the former) as inline SVG."""
    return segno.make_qr(url, error="m").svg_inline(scale=5, border=4)


def render(lang: str, *, store: str, fingerprint: str | None, ca_name: str, enrol_url: str, app_url: str) -> str:
    """The whole enrolment page in ``lang`` (``en`` or ``zh-CN``)."""
    t = TEXT.get(lang, TEXT["en"])
    e = html.escape
    app_link = f'<a href="{e(app_url)}">{e(app_url)}</a>'
    head = (
        f'<!doctype html><html lang="{e(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{e(t['title'])} · StoreHub</title><style>{STYLE}</style></head><body>"
        f"<h1>{e(t['title'])}</h1>"
    )
    if fingerprint is None:
        return head + f'<p data-testid="no-ca">{e(t["no_ca"])}</p></body></html>'

    def steps(key: str) -> str:
        items = e(t[key]).replace("{app}", app_link).replace("{ca}", e(ca_name)).split("|")
        return "<ol>" + "".join(f"<li>{i}</li>" for i in items) + "</ol>"

    return (
        head
        + f"<p>{e(t['lead']).replace('{store}', e(store))}</p>"
        + f'<p>{e(t["fingerprint"])}</p><code data-testid="ca-fingerprint">{e(fingerprint)}</code>'
        + f'<a class="btn" data-testid="download-crt" href="/enrol/store-ca.crt">{e(t["download_crt"])}</a>'
        + f'<a class="btn alt" data-testid="download-pem" href="/enrol/store-ca.pem">{e(t["download_pem"])}</a>'
        + f"<h2>{e(t['android'])}</h2>{steps('android_steps')}"
        + f"<h2>{e(t['ios'])}</h2>{steps('ios_steps')}"
        + f"<p>{e(t['mdm'])}</p>"
        + f'<div class="qr" data-testid="enrol-qr" data-url="{e(enrol_url)}">{qr_svg(enrol_url)}</div>'
        + f"<p>{e(t['qr'])}</p>"
        + f'<a class="btn alt" data-testid="open-app" href="{e(app_url)}">{e(t["open_app"])}</a>'
        + "</body></html>"
    )
