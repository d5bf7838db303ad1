"""Static files in production: whitenoise's compressed, hashed copies. The inbox is native
ES modules (static/inbox/*.js); their `import ... from "./x.js"` statements are rewritten
to the hashed names too, so a page never mixes one release's modules with another's."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
