def main():
    print("not the real pip")
