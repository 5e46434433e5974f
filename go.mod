module heshen

go 1.26
