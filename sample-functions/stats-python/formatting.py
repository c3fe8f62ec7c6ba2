def round_to(value, digits):
    return round(value, digits)
