/**
 * The onboarding install page (docs/dashboard.md): the proxy address as the phone reached it, a QR code of
 * the page, and the steps per platform. One HTML document with its style inline and no script:
 * phones on a test LAN have no internet, so nothing may come from another origin.
 */

export interface OnboardingPageData {
  /** The proxy as this client reached it: host (IP or name) and port. */
  host: string;
  port: number;
  /** The client came through the proxy (`http://mgproxy.local/`), or straight to the proxy port. */
  viaProxy: boolean;
  /** `<subject_hash_old>.0` */
  androidFile: string;
  caName: string;
  caSha256: string;
  caValidTo: string;
  qrSvg: string;
  /** The CA was replaced at this start (docs/tls-audit.md): the line telling the user to install the new one. */
  caNotice?: string;
  /** Which platform's steps to open first (from the User-Agent). */
  platform: 'ios' | 'android' | 'other';
}

export const ONBOARDING_STYLE = `
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--box:#f6f8fa;--line:#d0d7de;--accent:#0b5cad}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--box:#161b22;--line:#30363d;--accent:#58a6ff}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:46rem;padding:1rem;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.4rem;margin:.2rem 0 .6rem}h2{font-size:1.15rem;margin:1.4rem 0 .4rem}h3{font-size:1rem;margin:1rem 0 .3rem}
a{color:var(--accent)}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--box);border:1px solid var(--line);border-radius:6px;padding:.6rem;overflow-x:auto;white-space:pre}
.addr{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;background:var(--box);border:1px solid var(--line);border-radius:8px;padding:.8rem}
.addr dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:.2rem .8rem}.addr dt{color:var(--muted)}.addr dd{margin:0;font-weight:600;word-break:break-all}
.qr{width:9.5rem;flex:none}.qr svg{display:block;width:100%;height:auto;border-radius:4px}
.dl{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0}
.dl a{display:inline-block;padding:.45rem .8rem;border:1px solid var(--line);border-radius:6px;text-decoration:none;background:var(--box)}
details{border:1px solid var(--line);border-radius:8px;padding:.2rem .9rem;margin:.6rem 0}
summary{cursor:pointer;font-weight:600;padding:.4rem 0}
.note{color:var(--muted);font-size:.92rem}
.warn{border-left:4px solid #d29922;padding:.3rem .7rem;background:var(--box)}
ol{padding-left:1.3rem}li{margin:.25rem 0}
.fp{word-break:break-all}
`;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function renderOnboardingPage(d: OnboardingPageData): string {
  const host = escapeHtml(d.host);
  const port = String(d.port);
  const proxy = `${host}:${port}`;
  const direct = `http://${proxy}/`;
  const pac = `http://${proxy}/proxy.pac`;
  const hash = escapeHtml(d.androidFile);
  const open = (p: OnboardingPageData['platform']) => (d.platform === p ? ' open' : '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<title>mgproxy: set up this device</title>
<style>${ONBOARDING_STYLE}</style></head>
<body>
<h1>mgproxy: set up this device</h1>
${d.caNotice ? `<p class="warn" id="ca-notice">${escapeHtml(d.caNotice)}</p>
` : ''}<p>${d.viaProxy
    ? 'This page came through the proxy: this device already uses it. Install and trust the CA below, and its HTTPS traffic is checked too.'
    : 'This device reached the proxy directly. Set its Wi-Fi proxy to the address below, then install and trust the CA.'}</p>
<div class="addr">
<div class="qr">${d.qrSvg}</div>
<dl>
<dt>Proxy server</dt><dd id="proxy-host">${host}</dd>
<dt>Port</dt><dd id="proxy-port">${port}</dd>
<dt>PAC URL</dt><dd><a href="/proxy.pac">${pac}</a></dd>
<dt>This page</dt><dd><a href="${direct}">${direct}</a> (no proxy needed), or <a href="http://mgproxy.local/">http://mgproxy.local/</a> through the proxy</dd>
</dl>
</div>
<p class="note">Scan the code with another phone to open this page there.</p>

<h2>1. Download the CA certificate</h2>
<div class="dl">
<a href="/ca.crt" id="dl-crt">ca.crt (iOS, Android, Windows)</a>
<a href="/ca.pem" id="dl-pem">ca.pem (PEM)</a>
<a href="/${hash}" id="dl-android">${hash} (Android system store)</a>
<a href="/proxy.pac" id="dl-pac">proxy.pac</a>
</div>
<p class="note">${escapeHtml(d.caName)}, valid until ${escapeHtml(d.caValidTo)}.<br>SHA-256 fingerprint: <code class="fp">${escapeHtml(d.caSha256)}</code><br>
Install it on test devices only: whoever holds its key can read their HTTPS traffic.</p>

<h2>2. Trust it and set the proxy</h2>
<details${open('ios')}><summary>iPhone and iPad (iOS, iPadOS)</summary>
<ol>
<li>Open this page in <b>Safari</b> (other browsers cannot install profiles) and tap <a href="/ca.crt">ca.crt</a>; allow the download. iOS says "Profile Downloaded".</li>
<li>Settings → General → <b>VPN &amp; Device Management</b> → "${escapeHtml(d.caName)}" → <b>Install</b> (enter the passcode) → Install.</li>
<li>Settings → General → About → <b>Certificate Trust Settings</b> → turn on <b>full trust</b> for "${escapeHtml(d.caName)}". Without this switch every HTTPS request fails, although the profile shows as installed.</li>
<li>Settings → Wi-Fi → ⓘ next to the network → <b>Configure Proxy</b> → Manual: Server <code>${host}</code>, Port <code>${port}</code> (or Automatic, URL <code>${pac}</code>).</li>
</ol>
<p>WeChat on iOS uses the system trust store: mini-game traffic is checked once these steps are done.</p>
</details>

<details${open('android')}><summary>Android</summary>
<h3>Proxy</h3>
<p>Settings → Network &amp; internet → Internet (or Wi-Fi) → the network's ⚙ or ✎ → Advanced / Proxy → <b>Manual</b>: hostname <code>${host}</code>, port <code>${port}</code>. Or <b>Proxy Auto-Config</b> with <code>${pac}</code>.</p>
<h3>User CA (browsers, and apps that opt in)</h3>
<p>Download <a href="/ca.crt">ca.crt</a>, then Settings → Security (and privacy) → More security settings → Encryption &amp; credentials → <b>Install a certificate</b> → <b>CA certificate</b> → Install anyway → pick ca.crt.</p>
<p class="warn"><b>This is not enough for mini games.</b> Since Android 7, apps ignore user CAs unless their network security config opts in, and WeChat 7 and later trusts only system CAs. Mini-game traffic is checked only with the CA in the <b>system store</b>, which needs an emulator with a writable system image or a rooted device.</p>
<h3>System CA on an emulator (Android 13 and older)</h3>
<p>Use a "Google APIs" system image: "Google Play" images refuse <code>adb root</code>. On the computer:</p>
<pre>mgproxy ca --android-system .          # writes ${hash} here (or download it above)
emulator -avd YOUR_AVD -writable-system # start it this way every time from now on
adb root
adb shell avbctl disable-verification   # Android 10+, once; then reboot:
adb reboot &amp;&amp; adb wait-for-device &amp;&amp; adb root
adb remount
adb push ${hash} /system/etc/security/cacerts/${hash}
adb shell chmod 644 /system/etc/security/cacerts/${hash}
adb reboot</pre>
<p>Check: Settings → Security → Encryption &amp; credentials → Trusted credentials → <b>System</b> lists "mgproxy". Then set the emulator's proxy: <code>emulator -avd YOUR_AVD -writable-system -http-proxy http://127.0.0.1:${port}</code> when mgproxy runs on the same computer.</p>
<h3>System CA on a rooted device (Magisk)</h3>
<p>Install the CA as a user CA (above), then install a Magisk module that copies user CAs into the system store at boot (for example AlwaysTrustUserCerts, which also handles Android 14+) in Magisk → Modules → Install from storage, and reboot. Without a module, the Android 14+ commands below work on any rooted device, using <code>su</code> instead of <code>adb root</code>.</p>
<h3>Android 14 and later</h3>
<p>The system CAs no longer come from <code>/system/etc/security/cacerts</code> but from the Conscrypt APEX module, <code>/apex/com.android.conscrypt/cacerts</code>, which Google Play updates and nobody can remount. Instead, put a copy of that folder with the mgproxy CA added on a tmpfs, and bind-mount it over the APEX folder in the mount namespaces of zygote and of every running app. It lasts until the next reboot:</p>
<pre>adb root                                # or: adb shell, then su
adb push ${hash} /data/local/tmp/${hash}
adb shell
mkdir -p -m 700 /data/local/tmp/cacerts
cp /apex/com.android.conscrypt/cacerts/* /data/local/tmp/cacerts/
cp /data/local/tmp/${hash} /data/local/tmp/cacerts/
mount -t tmpfs tmpfs /system/etc/security/cacerts
cp /data/local/tmp/cacerts/* /system/etc/security/cacerts/
chown root:root /system/etc/security/cacerts/*
chmod 644 /system/etc/security/cacerts/*
chcon u:object_r:system_file:s0 /system/etc/security/cacerts/*
for z in $(pidof zygote zygote64); do
  nsenter --mount=/proc/$z/ns/mnt -- mount --bind /system/etc/security/cacerts /apex/com.android.conscrypt/cacerts
  for app in $(ps -o PID -P $z | grep -v PID); do
    nsenter --mount=/proc/$app/ns/mnt -- mount --bind /system/etc/security/cacerts /apex/com.android.conscrypt/cacerts
  done
done</pre>
<p class="note">Apps started later inherit zygote's view; restart WeChat once so that it is one of them.</p>
</details>

<details${open('other')}><summary>Developer tools, simulators and desktop</summary>
<ul>
<li><b>WeChat developer tools</b>: in its settings, Proxy → manual proxy <code>${proxy}</code> (or the system proxy), and trust the CA in the computer's store (below).</li>
<li><b>macOS</b>: <code>sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ca.pem</code></li>
<li><b>Windows</b> (administrator prompt): <code>certutil -addstore -f Root ca.crt</code></li>
<li><b>Linux</b> (Debian, Ubuntu): <code>sudo cp ca.pem /usr/local/share/ca-certificates/mgproxy.crt &amp;&amp; sudo update-ca-certificates</code></li>
<li><b>iOS Simulator</b>: <code>xcrun simctl keychain booted add-root-cert ca.pem</code>, then full trust in Settings → General → About → Certificate Trust Settings; it uses the Mac's proxy settings.</li>
<li><b>Android emulator</b>: <code>-http-proxy http://127.0.0.1:${port}</code> and the system CA steps in the Android section.</li>
</ul>
</details>
</body></html>
`;
}
