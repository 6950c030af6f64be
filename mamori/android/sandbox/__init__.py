"""The AMAPI sandbox: an HTTP emulator of the part of Google's Android Management API Mamori uses.

A development and test tool, never a production component: ``mamori amapi-sandbox serve`` (the
command refuses to start with debug off unless told ``--i-know-this-is-not-google``) serves on
loopback the methods of ``androidmanagement.v1.json`` that Mamori calls, with their paths,
parameters, bodies, response shapes and Google's error format, so the unchanged
``googleapiclient`` client with real service-account credentials talks to it. Only the endpoint
(``MAMORI_AMAPI_ENDPOINT``) and the key file (``MAMORI_AMAPI_CREDENTIALS``) differ from production.

Modules: ``server`` (binding, threads), ``app`` (WSGI: routes, quota, authentication, the signup
page, the push tokens' certificates), ``resources`` (signupUrls, enterprises, policies, enrollment
tokens), ``devices`` (devices, operations, what a virtual device reports), ``enroll`` (virtual
devices), ``virtual`` (the loop that makes them report and run commands), ``notify`` (what is
published to an enterprise's Pub/Sub topic), ``push`` (Pub/Sub push delivery with OIDC tokens),
``controls`` (``mamori amapi-sandbox device``), ``load`` (the benchmark's load generator),
``catalogue`` (their hardware), ``keys`` (the key file, the token endpoint, push tokens),
``store`` (the SQLite state), ``validation`` (Google's checks of a Policy body), ``errors``,
``common``.

Everything a person reads here is English and untranslated: the sandbox stands in for Google
(whose pages and messages are not Mamori's), and its command is a developer's tool.
"""
