"""Responses several blueprints give: a personal page kept private, an attestation's PDF."""

from flask import make_response

from scheduler.models import Attestation
from scheduler.services import attestation_document


def private(response):
    """Personal pages stay out of caches and never leak their address through a Referer to
    another site. Our own site does get it: with "no-referrer" a browser sends "Origin: null"
    with the page's forms, which the cross-origin check cannot tell from a forged post."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def attestation_pdf_response(attestation: Attestation):
    """The attestation as a PDF to save, never shown in place or kept by a cache."""
    response = make_response(attestation_document.render(attestation))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{attestation_document.file_name(attestation)}"')
    response.headers["X-Content-Type-Options"] = "nosniff"
    return private(response)
