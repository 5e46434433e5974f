# Air-gapped image: build with network once, then `docker save`/`docker load` on the site.
#   docker build -t heshen .
#   docker run -p 8080:8080 -v heshen-data:/data heshen
FROM golang:1.26-bookworm AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libopencv-dev libavcodec-dev libavutil-dev libswscale-dev pkg-config npm ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make models build

FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libopencv-calib3d406 libopencv-core406 libopencv-dnn406 libopencv-features2d406 libopencv-flann406 \
      libopencv-highgui406 libopencv-imgcodecs406 libopencv-imgproc406 libopencv-objdetect406 \
      libopencv-photo406 libopencv-video406 libopencv-videoio406 \
      libavcodec59 libavformat59 libavutil57 libswscale6 libswresample4 ffmpeg ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/bin/heshen /usr/local/bin/heshen
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["heshen"]
CMD ["serve", "--data", "/data", "--listen", "0.0.0.0:8080"]
