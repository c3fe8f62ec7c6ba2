"""Sum and mean of a list of numbers; shows sibling modules, a package and a data file."""
import json

from stats.summary import summarize
from formatting import round_to


def cortexone_handler(event, context):
    numbers = event.get("numbers")
    if not isinstance(numbers, list) or not numbers:
        return {"statusCode": 400, "body": {"error": "numbers must be a non-empty list"}}
    with open("data/units.json") as f:
        units = json.load(f)
    result = summarize(numbers)
    result["mean"] = round_to(result["mean"], event.get("digits", 2))
    result["unit"] = units.get(event.get("unit", "none"), "")
    return {"statusCode": 200, "body": result}
