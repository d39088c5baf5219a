module prodready

go 1.19
