"""Blueprint "attestations": the public page that confirms an attestation is genuine."""

from flask import Blueprint

bp = Blueprint("attestations", __name__)
