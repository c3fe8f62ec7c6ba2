def summarize(numbers):
    total = sum(numbers)
    return {"sum": total, "mean": total / len(numbers), "count": len(numbers)}
