import os


def cortexone_handler(event, context):
    greeting = os.environ.get("GREETING", "")
    if not greeting:
        return {"statusCode": 500, "body": {"error": "the GREETING secret is not attached"}}
    return {"statusCode": 200, "body": {"message": f"{greeting}, {event.get('name', 'World')}!"}}
