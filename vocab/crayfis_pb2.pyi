from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataChunk(_message.Message):
    __slots__ = ("run_configs", "exposure_blocks", "calibration_results", "precalibration_results", "precalibration_updates")
    RUN_CONFIGS_FIELD_NUMBER: _ClassVar[int]
    EXPOSURE_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_RESULTS_FIELD_NUMBER: _ClassVar[int]
    PRECALIBRATION_RESULTS_FIELD_NUMBER: _ClassVar[int]
    PRECALIBRATION_UPDATES_FIELD_NUMBER: _ClassVar[int]
    run_configs: _containers.RepeatedCompositeFieldContainer[RunConfig]
    exposure_blocks: _containers.RepeatedCompositeFieldContainer[ExposureBlock]
    calibration_results: _containers.RepeatedCompositeFieldContainer[CalibrationResult]
    precalibration_results: _containers.RepeatedCompositeFieldContainer[PreCalibrationResult]
    precalibration_updates: _containers.RepeatedCompositeFieldContainer[PreCalibrationUpdate]
    def __init__(self, run_configs: _Optional[_Iterable[_Union[RunConfig, _Mapping]]] = ..., exposure_blocks: _Optional[_Iterable[_Union[ExposureBlock, _Mapping]]] = ..., calibration_results: _Optional[_Iterable[_Union[CalibrationResult, _Mapping]]] = ..., precalibration_results: _Optional[_Iterable[_Union[PreCalibrationResult, _Mapping]]] = ..., precalibration_updates: _Optional[_Iterable[_Union[PreCalibrationUpdate, _Mapping]]] = ...) -> None: ...

class RunConfig(_message.Message):
    __slots__ = ("id_hi", "id_lo", "start_time", "crayfis_build", "hw_params", "os_params", "camera_params", "camera_id")
    ID_HI_FIELD_NUMBER: _ClassVar[int]
    ID_LO_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    CRAYFIS_BUILD_FIELD_NUMBER: _ClassVar[int]
    HW_PARAMS_FIELD_NUMBER: _ClassVar[int]
    OS_PARAMS_FIELD_NUMBER: _ClassVar[int]
    CAMERA_PARAMS_FIELD_NUMBER: _ClassVar[int]
    CAMERA_ID_FIELD_NUMBER: _ClassVar[int]
    id_hi: int
    id_lo: int
    start_time: int
    crayfis_build: str
    hw_params: str
    os_params: str
    camera_params: str
    camera_id: int
    def __init__(self, id_hi: _Optional[int] = ..., id_lo: _Optional[int] = ..., start_time: _Optional[int] = ..., crayfis_build: _Optional[str] = ..., hw_params: _Optional[str] = ..., os_params: _Optional[str] = ..., camera_params: _Optional[str] = ..., camera_id: _Optional[int] = ...) -> None: ...

class ExposureBlock(_message.Message):
    __slots__ = ("run_id", "run_id_hi", "precal_id", "precal_id_hi", "hot_hash", "wgt_hash", "start_time", "end_time", "start_time_nano", "end_time_nano", "start_time_ntp", "end_time_ntp", "gps_lat", "gps_lon", "gps_altitude", "gps_accuracy", "gps_fixtime", "gps_fixtime_nano", "battery_temp", "battery_end_temp", "daq_state", "res_x", "res_y", "events", "L1_thresh", "L2_thresh", "L1_prescale", "L0_conf", "L1_conf", "L2_conf", "L0_processed", "L1_processed", "L2_processed", "L0_pass", "L1_pass", "L2_pass", "L0_skip", "L1_skip", "L2_skip", "config", "processed", "skip", "frames_dropped", "hist", "xbn", "aborted")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        INIT: _ClassVar[ExposureBlock.State]
        CALIBRATION: _ClassVar[ExposureBlock.State]
        DATA: _ClassVar[ExposureBlock.State]
        PRECALIBRATION: _ClassVar[ExposureBlock.State]
    INIT: ExposureBlock.State
    CALIBRATION: ExposureBlock.State
    DATA: ExposureBlock.State
    PRECALIBRATION: ExposureBlock.State
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_HI_FIELD_NUMBER: _ClassVar[int]
    PRECAL_ID_FIELD_NUMBER: _ClassVar[int]
    PRECAL_ID_HI_FIELD_NUMBER: _ClassVar[int]
    HOT_HASH_FIELD_NUMBER: _ClassVar[int]
    WGT_HASH_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_NANO_FIELD_NUMBER: _ClassVar[int]
    END_TIME_NANO_FIELD_NUMBER: _ClassVar[int]
    START_TIME_NTP_FIELD_NUMBER: _ClassVar[int]
    END_TIME_NTP_FIELD_NUMBER: _ClassVar[int]
    GPS_LAT_FIELD_NUMBER: _ClassVar[int]
    GPS_LON_FIELD_NUMBER: _ClassVar[int]
    GPS_ALTITUDE_FIELD_NUMBER: _ClassVar[int]
    GPS_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    GPS_FIXTIME_FIELD_NUMBER: _ClassVar[int]
    GPS_FIXTIME_NANO_FIELD_NUMBER: _ClassVar[int]
    BATTERY_TEMP_FIELD_NUMBER: _ClassVar[int]
    BATTERY_END_TEMP_FIELD_NUMBER: _ClassVar[int]
    DAQ_STATE_FIELD_NUMBER: _ClassVar[int]
    RES_X_FIELD_NUMBER: _ClassVar[int]
    RES_Y_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    L1_THRESH_FIELD_NUMBER: _ClassVar[int]
    L2_THRESH_FIELD_NUMBER: _ClassVar[int]
    L1_PRESCALE_FIELD_NUMBER: _ClassVar[int]
    L0_CONF_FIELD_NUMBER: _ClassVar[int]
    L1_CONF_FIELD_NUMBER: _ClassVar[int]
    L2_CONF_FIELD_NUMBER: _ClassVar[int]
    L0_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    L1_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    L2_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    L0_PASS_FIELD_NUMBER: _ClassVar[int]
    L1_PASS_FIELD_NUMBER: _ClassVar[int]
    L2_PASS_FIELD_NUMBER: _ClassVar[int]
    L0_SKIP_FIELD_NUMBER: _ClassVar[int]
    L1_SKIP_FIELD_NUMBER: _ClassVar[int]
    L2_SKIP_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_FIELD_NUMBER: _ClassVar[int]
    PASS_FIELD_NUMBER: _ClassVar[int]
    SKIP_FIELD_NUMBER: _ClassVar[int]
    FRAMES_DROPPED_FIELD_NUMBER: _ClassVar[int]
    HIST_FIELD_NUMBER: _ClassVar[int]
    XBN_FIELD_NUMBER: _ClassVar[int]
    ABORTED_FIELD_NUMBER: _ClassVar[int]
    run_id: int
    run_id_hi: int
    precal_id: int
    precal_id_hi: int
    hot_hash: int
    wgt_hash: int
    start_time: int
    end_time: int
    start_time_nano: int
    end_time_nano: int
    start_time_ntp: int
    end_time_ntp: int
    gps_lat: float
    gps_lon: float
    gps_altitude: float
    gps_accuracy: float
    gps_fixtime: int
    gps_fixtime_nano: int
    battery_temp: int
    battery_end_temp: int
    daq_state: ExposureBlock.State
    res_x: int
    res_y: int
    events: _containers.RepeatedCompositeFieldContainer[Event]
    L1_thresh: int
    L2_thresh: int
    L1_prescale: float
    L0_conf: str
    L1_conf: str
    L2_conf: str
    L0_processed: int
    L1_processed: int
    L2_processed: int
    L0_pass: int
    L1_pass: int
    L2_pass: int
    L0_skip: int
    L1_skip: int
    L2_skip: int
    config: _containers.RepeatedScalarFieldContainer[str]
    processed: _containers.RepeatedScalarFieldContainer[int]
    skip: _containers.RepeatedScalarFieldContainer[int]
    frames_dropped: int
    hist: _containers.RepeatedScalarFieldContainer[int]
    xbn: int
    aborted: bool
    def __init__(self, run_id: _Optional[int] = ..., run_id_hi: _Optional[int] = ..., precal_id: _Optional[int] = ..., precal_id_hi: _Optional[int] = ..., hot_hash: _Optional[int] = ..., wgt_hash: _Optional[int] = ..., start_time: _Optional[int] = ..., end_time: _Optional[int] = ..., start_time_nano: _Optional[int] = ..., end_time_nano: _Optional[int] = ..., start_time_ntp: _Optional[int] = ..., end_time_ntp: _Optional[int] = ..., gps_lat: _Optional[float] = ..., gps_lon: _Optional[float] = ..., gps_altitude: _Optional[float] = ..., gps_accuracy: _Optional[float] = ..., gps_fixtime: _Optional[int] = ..., gps_fixtime_nano: _Optional[int] = ..., battery_temp: _Optional[int] = ..., battery_end_temp: _Optional[int] = ..., daq_state: _Optional[_Union[ExposureBlock.State, str]] = ..., res_x: _Optional[int] = ..., res_y: _Optional[int] = ..., events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., L1_thresh: _Optional[int] = ..., L2_thresh: _Optional[int] = ..., L1_prescale: _Optional[float] = ..., L0_conf: _Optional[str] = ..., L1_conf: _Optional[str] = ..., L2_conf: _Optional[str] = ..., L0_processed: _Optional[int] = ..., L1_processed: _Optional[int] = ..., L2_processed: _Optional[int] = ..., L0_pass: _Optional[int] = ..., L1_pass: _Optional[int] = ..., L2_pass: _Optional[int] = ..., L0_skip: _Optional[int] = ..., L1_skip: _Optional[int] = ..., L2_skip: _Optional[int] = ..., config: _Optional[_Iterable[str]] = ..., processed: _Optional[_Iterable[int]] = ..., skip: _Optional[_Iterable[int]] = ..., frames_dropped: _Optional[int] = ..., hist: _Optional[_Iterable[int]] = ..., xbn: _Optional[int] = ..., aborted: _Optional[bool] = ..., **kwargs) -> None: ...

class Event(_message.Message):
    __slots__ = ("timestamp", "timestamp_nano", "timestamp_ntp", "timestamp_target", "exposure_time", "gps_lat", "gps_lon", "gps_altitude", "gps_accuracy", "gps_fixtime", "gps_fixtime_nano", "zero_bias", "pixels", "byte_block", "avg", "std", "hist", "xbn", "orient_x", "orient_y", "orient_z", "pressure")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_NANO_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_NTP_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_TARGET_FIELD_NUMBER: _ClassVar[int]
    EXPOSURE_TIME_FIELD_NUMBER: _ClassVar[int]
    GPS_LAT_FIELD_NUMBER: _ClassVar[int]
    GPS_LON_FIELD_NUMBER: _ClassVar[int]
    GPS_ALTITUDE_FIELD_NUMBER: _ClassVar[int]
    GPS_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    GPS_FIXTIME_FIELD_NUMBER: _ClassVar[int]
    GPS_FIXTIME_NANO_FIELD_NUMBER: _ClassVar[int]
    ZERO_BIAS_FIELD_NUMBER: _ClassVar[int]
    PIXELS_FIELD_NUMBER: _ClassVar[int]
    BYTE_BLOCK_FIELD_NUMBER: _ClassVar[int]
    AVG_FIELD_NUMBER: _ClassVar[int]
    STD_FIELD_NUMBER: _ClassVar[int]
    HIST_FIELD_NUMBER: _ClassVar[int]
    XBN_FIELD_NUMBER: _ClassVar[int]
    ORIENT_X_FIELD_NUMBER: _ClassVar[int]
    ORIENT_Y_FIELD_NUMBER: _ClassVar[int]
    ORIENT_Z_FIELD_NUMBER: _ClassVar[int]
    PRESSURE_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    timestamp_nano: int
    timestamp_ntp: int
    timestamp_target: int
    exposure_time: int
    gps_lat: float
    gps_lon: float
    gps_altitude: float
    gps_accuracy: float
    gps_fixtime: int
    gps_fixtime_nano: int
    zero_bias: ZeroBiasSquare
    pixels: _containers.RepeatedCompositeFieldContainer[Pixel]
    byte_block: ByteBlock
    avg: float
    std: float
    hist: _containers.RepeatedScalarFieldContainer[int]
    xbn: int
    orient_x: float
    orient_y: float
    orient_z: float
    pressure: float
    def __init__(self, timestamp: _Optional[int] = ..., timestamp_nano: _Optional[int] = ..., timestamp_ntp: _Optional[int] = ..., timestamp_target: _Optional[int] = ..., exposure_time: _Optional[int] = ..., gps_lat: _Optional[float] = ..., gps_lon: _Optional[float] = ..., gps_altitude: _Optional[float] = ..., gps_accuracy: _Optional[float] = ..., gps_fixtime: _Optional[int] = ..., gps_fixtime_nano: _Optional[int] = ..., zero_bias: _Optional[_Union[ZeroBiasSquare, _Mapping]] = ..., pixels: _Optional[_Iterable[_Union[Pixel, _Mapping]]] = ..., byte_block: _Optional[_Union[ByteBlock, _Mapping]] = ..., avg: _Optional[float] = ..., std: _Optional[float] = ..., hist: _Optional[_Iterable[int]] = ..., xbn: _Optional[int] = ..., orient_x: _Optional[float] = ..., orient_y: _Optional[float] = ..., orient_z: _Optional[float] = ..., pressure: _Optional[float] = ...) -> None: ...

class Pixel(_message.Message):
    __slots__ = ("x", "y", "val", "adjusted_val", "near_max", "avg_3", "avg_5")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    VAL_FIELD_NUMBER: _ClassVar[int]
    ADJUSTED_VAL_FIELD_NUMBER: _ClassVar[int]
    NEAR_MAX_FIELD_NUMBER: _ClassVar[int]
    AVG_3_FIELD_NUMBER: _ClassVar[int]
    AVG_5_FIELD_NUMBER: _ClassVar[int]
    x: int
    y: int
    val: int
    adjusted_val: int
    near_max: int
    avg_3: float
    avg_5: float
    def __init__(self, x: _Optional[int] = ..., y: _Optional[int] = ..., val: _Optional[int] = ..., adjusted_val: _Optional[int] = ..., near_max: _Optional[int] = ..., avg_3: _Optional[float] = ..., avg_5: _Optional[float] = ...) -> None: ...

class ByteBlock(_message.Message):
    __slots__ = ("x", "y", "val", "side_length")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    VAL_FIELD_NUMBER: _ClassVar[int]
    SIDE_LENGTH_FIELD_NUMBER: _ClassVar[int]
    x: _containers.RepeatedScalarFieldContainer[int]
    y: _containers.RepeatedScalarFieldContainer[int]
    val: _containers.RepeatedScalarFieldContainer[int]
    side_length: int
    def __init__(self, x: _Optional[_Iterable[int]] = ..., y: _Optional[_Iterable[int]] = ..., val: _Optional[_Iterable[int]] = ..., side_length: _Optional[int] = ...) -> None: ...

class ZeroBiasSquare(_message.Message):
    __slots__ = ("x_min", "y_min", "val", "frame_number")
    X_MIN_FIELD_NUMBER: _ClassVar[int]
    Y_MIN_FIELD_NUMBER: _ClassVar[int]
    VAL_FIELD_NUMBER: _ClassVar[int]
    FRAME_NUMBER_FIELD_NUMBER: _ClassVar[int]
    x_min: int
    y_min: int
    val: _containers.RepeatedScalarFieldContainer[int]
    frame_number: int
    def __init__(self, x_min: _Optional[int] = ..., y_min: _Optional[int] = ..., val: _Optional[_Iterable[int]] = ..., frame_number: _Optional[int] = ...) -> None: ...

class CalibrationResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PreCalibrationResult(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PreCalibrationUpdate(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
