"""Signed webhooks for task changes (issue 20 item 4, ARCHITECTURE.md "Service mode").

:mod:`.settings` reads ``[[webhooks]]`` and ``[webhook_delivery]``; :mod:`.messages` builds
the outbox rows a state change writes; :mod:`.signing` signs a body per the Standard
Webhooks spec; :mod:`.delivery` is the loop that sends due rows; :mod:`.service` ties them
to the runtime.
"""
