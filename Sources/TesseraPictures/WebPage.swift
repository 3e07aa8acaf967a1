/// The web page picture-api serves at GET /: one HTML document with its CSS and JavaScript, no framework, no build step.
enum WebPage {
    static let template: String = #"""
<!doctype html><html data-max-upload-bytes="__MAX_UPLOAD_BYTES__"><head><meta charset="utf-8"><title>Tessera</title></head><body>placeholder</body></html>
"""#
}
