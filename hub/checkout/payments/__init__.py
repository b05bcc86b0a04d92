"""Payment codes (付款码) at the till: WeChat Pay micropay and Alipay ``trade.pay`` (scene ``bar_code``).

* ``codes`` recognises a scanned code by its documented prefix and length (no network);
* ``client`` is the one module that talks to the providers (through wechatpy and python-alipay-sdk);
* ``flow`` strings the steps together with the tender persisted before every network call, polls a customer
  who is still confirming, resumes what a killed hub left half-done and refunds returns paid by code.

The merchant credentials are secrets (API key, RSA private key), so they live in ``payments.json`` in the hub's
data directory (0600), not in the settings that the API shows (docs/checkout.md, "Payment codes")."""
