"""Twilio: incoming SMS, answered with TwiML (docs/providers/twilio.md).

A route, so the reply goes back in the same request; Twilio signs the full URL, so set
``[server] base_url`` to the public URL Twilio calls.
"""

from xml.sax.saxutils import escape

from hookport import Context, Plugin, Request, Response, verify

plugin = Plugin("twilio-example")


@plugin.route("/twilio/sms", methods=["POST"],
              verify=verify.twilio(secret_env="TWILIO_AUTH_TOKEN"))
def on_sms(request: Request, ctx: Context) -> Response:
    sender, text = request.form["From"], request.form["Body"]
    ctx.log.info("SMS from %s: %s", sender, text)
    reply = f"<Response><Message>Got it: {escape(text)}</Message></Response>"
    return Response(reply, media_type="application/xml")
