"""Hard limits that keep a hostile message from exhausting memory or time.

Python's ``re`` has no timeout, so regexes are kept linear (no nested
quantifiers) and are only ever run over text capped by these limits: the
cost of any message is bounded by them, not by what the sender chose.
"""

from typing import Final

#: Raw bytes read from one message; the rest is dropped (and flagged).
MAX_RAW_BYTES: Final = 25 * 1024 * 1024
#: MIME parts walked; further parts are ignored (and flagged).
MAX_PARTS: Final = 200
#: Nesting of multiparts and message/rfc822 attachments.
MAX_DEPTH: Final = 12
#: Decoded bytes kept from one text part.
MAX_TEXT_PART_BYTES: Final = 1024 * 1024
#: Characters of HTML fed to the HTML scanner, per message.
MAX_HTML_CHARS: Final = 1024 * 1024
#: Characters of visible text scanned by the content rules.
MAX_SCAN_CHARS: Final = 200_000
#: Decoded bytes of one attachment kept for inspection (macros, archives).
MAX_ATTACHMENT_BYTES: Final = 8 * 1024 * 1024
#: Links examined per message.
MAX_LINKS: Final = 400
#: Length of one URL examined; longer ones are cut.
MAX_URL_CHARS: Final = 2048
#: Length of a header value examined.
MAX_HEADER_CHARS: Final = 4096
#: Members of an archive listed.
MAX_ARCHIVE_MEMBERS: Final = 500
#: Characters of evidence kept in a signal.
MAX_EVIDENCE_CHARS: Final = 300
#: Pages of a PDF attachment read for links, text and QR codes.
MAX_PDF_PAGES: Final = 3
#: Characters of text kept from the PDFs of one message.
MAX_PDF_TEXT_CHARS: Final = 20_000
#: Images (attachments and images inside PDFs) decoded looking for QR codes, per message.
MAX_DOCUMENT_IMAGES: Final = 8
#: Largest image decoded (pixels); bigger ones are skipped, not shrunk.
MAX_IMAGE_PIXELS: Final = 12_000_000
