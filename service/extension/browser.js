/* One name for the extension API in both browsers: Firefox's promise-based `browser`, else
   Chromium's `chrome` (promise-based too under Manifest V3). Loaded first by every part. */
"use strict";

const ext = globalThis.browser ?? globalThis.chrome;
